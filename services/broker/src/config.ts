import { bool, count, defaultPgUrl, parseConfig, port, positive, z, type Env } from '@crdr/config';
import { parseAuthorizationEntries, type AuthorizationEntry } from './domain/authorization.js';

const userSpec = z
  .string()
  .regex(/^[^:]+:.+$/, 'must be NAME:PASSWORD')
  .transform((value) => {
    const at = value.indexOf(':');
    return { username: value.slice(0, at), password: value.slice(at + 1) };
  });

const schema = z.object({
  /** The broker's id (Amazon MQ's BrokerId); names it in message ids and errors. */
  BROKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/)
    .default('broker'),
  /** This process's id for the active/standby lease; unique per process. */
  BROKER_INSTANCE_ID: z.string().min(1).optional(),
  BROKER_DB_URL: z
    .string()
    .url()
    .default(defaultPgUrl.replace(/\/postgres$/, '/crdr_broker')),
  BROKER_HOST: z.string().default('127.0.0.1'),
  /** The host name put in printed endpoints; BROKER_HOST when absent. */
  BROKER_ADVERTISED_HOST: z.string().optional(),
  BROKER_STOMP_PORT: port().default(61613),
  BROKER_WS_PORT: port().default(61614),
  BROKER_GRPC_PORT: port().default(61617),
  /**
   * A separate port for BrokerAdminService, open on every instance (the control plane drives
   * standbys and replicas through it); the BROKER_GRPC_PORT listener then opens only while the
   * instance is active, like STOMP. Unset: admin and clients share BROKER_GRPC_PORT, always open.
   */
  BROKER_ADMIN_PORT: port().optional(),
  /** NAME:PASSWORD users created at start-up when missing, comma-separated; they get console access. */
  BROKER_USERS: z
    .string()
    .default('admin:admin')
    .transform((v) => v.split(',').filter((s) => s !== ''))
    .pipe(z.array(userSpec)),
  /**
   * The authorization map (ActiveMQ's authorizationPlugin entries) as a JSON list:
   * `[{"queue": "orders.>", "read": "apps,admins", "write": "apps", "admin": "admins"}, ...]`.
   * Unset: the default rule set (`admins`, i.e. console users, may do anything; other users only
   * in their groups' namespaces `G` and `G.>`).
   */
  BROKER_AUTHORIZATION: z
    .string()
    .optional()
    .transform((value, ctx): AuthorizationEntry[] | undefined => {
      if (value === undefined || value.trim() === '') return undefined;
      try {
        return parseAuthorizationEntries(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Role of a brand-new store; a stored role always wins. */
  BROKER_INITIAL_ROLE: z.enum(['PRIMARY', 'REPLICA']).default('PRIMARY'),
  BROKER_LEASE_TTL_MS: positive().default(2000),
  BROKER_LEASE_RENEW_MS: positive().default(500),
  BROKER_MEMORY_WINDOW: positive().default(2000),
  BROKER_MAX_REDELIVERIES: count().default(6),
  /**
   * The largest message body the broker accepts, in bytes, the same over STOMP, WebSocket and
   * gRPC (ActiveMQ's default: 100 MiB). A larger SEND is refused with an ERROR; whatever is
   * accepted replicates.
   */
  BROKER_MAX_MESSAGE_BYTES: positive().default(100 * 1024 * 1024),
  /**
   * The largest STOMP frame (command, headers and body), in bytes; by default
   * BROKER_MAX_MESSAGE_BYTES plus 64 KiB for the command and headers.
   */
  BROKER_MAX_FRAME_BYTES: positive().optional(),
  BROKER_MAX_HEADERS: positive().default(100),
  BROKER_MAX_HEADER_BYTES: positive().default(8192),
  BROKER_MAX_PENDING_FRAMES: positive().default(1024),
  BROKER_HEARTBEAT_MS: count().default(10_000),
  BROKER_DB_POOL_SIZE: positive().default(8),
  /** scrypt cost N for new password hashes (a power of two). */
  BROKER_SCRYPT_COST: positive().default(16384),
  /** Wrong passwords (for one user, or from one address) before answers are delayed. */
  BROKER_LOGIN_FREE_FAILURES: count().default(3),
  /** Wrong passwords for one user from one address before that pair is refused; 0: never. */
  BROKER_LOGIN_LOCKOUT_FAILURES: count().default(10),
  /** Sessions open at once (STOMP and WebSocket connections, gRPC streams and calls). */
  BROKER_MAX_CONNECTIONS: positive().default(1000),
  /** The same, for one user. */
  BROKER_MAX_CONNECTIONS_PER_USER: positive().default(500),
  /** Bytes (bodies and headers) held by all open transactions together. */
  BROKER_MAX_TRANSACTION_BYTES: positive().default(256 * 1024 * 1024),
  /** How long wrong passwords are remembered after the last one. */
  BROKER_LOGIN_WINDOW_MS: positive().default(15 * 60_000),
  /** This Region's NATS, where the replication log of a CRDR primary is published. */
  BROKER_NATS_URL: z.string().optional(),
  BROKER_NATS_USER: z.string().optional(),
  BROKER_NATS_PASSWORD: z.string().optional(),
  /** PEM files for TLS to NATS (CA to trust; client certificate and key for mutual TLS). */
  BROKER_NATS_TLS_CA: z.string().optional(),
  BROKER_NATS_TLS_CERT: z.string().optional(),
  BROKER_NATS_TLS_KEY: z.string().optional(),
  /**
   * Serve no client, whatever the stored role, until a SetRole confirms the role: a returning
   * old primary is kept from serving before its control plane learns of a failover.
   */
  BROKER_START_HELD: bool().default(false),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Print a machine-readable ENDPOINTS line on standard output once serving or standing by. */
  BROKER_PRINT_ENDPOINTS: bool().default(true),
  /**
   * Static provisioning: host:port of this Region's control plane. The broker registers this
   * instance (RegisterBrokerInstance) once listening, retrying while the control plane is away
   * or has not created the broker yet, and again every BROKER_CONTROL_PLANE_HEARTBEAT_MS.
   */
  BROKER_CONTROL_PLANE: z
    .string()
    .regex(/^[^\s/]+:\d{1,5}$/, 'must be HOST:PORT')
    .optional(),
  /**
   * The control plane's console user (its CONTROL_PLANE_BROKER_ADMIN_USER/PASSWORD): created at
   * start like BROKER_USERS, and the credentials of the registration.
   */
  BROKER_CONTROL_PLANE_USER: z
    .string()
    .regex(/^[^:,]+$/, 'must not contain : or ,')
    .optional(),
  BROKER_CONTROL_PLANE_PASSWORD: z.string().min(1).optional(),
  BROKER_CONTROL_PLANE_HEARTBEAT_MS: positive().default(15_000),
});

/** Settings that only make sense together. */
const checkedSchema = schema.superRefine((c, ctx) => {
  if (
    c.BROKER_CONTROL_PLANE !== undefined &&
    (c.BROKER_CONTROL_PLANE_USER === undefined || c.BROKER_CONTROL_PLANE_PASSWORD === undefined)
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['BROKER_CONTROL_PLANE_USER'],
      message:
        'BROKER_CONTROL_PLANE_USER and BROKER_CONTROL_PLANE_PASSWORD are required with BROKER_CONTROL_PLANE',
    });
  }
  if (
    (c.BROKER_CONTROL_PLANE_USER === undefined) !==
    (c.BROKER_CONTROL_PLANE_PASSWORD === undefined)
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['BROKER_CONTROL_PLANE_USER'],
      message: 'BROKER_CONTROL_PLANE_USER and BROKER_CONTROL_PLANE_PASSWORD go together',
    });
  }
});

export type BrokerConfig = z.infer<typeof schema>;

/** Parses the broker's configuration once, failing fast with every problem named. */
export function loadConfig(env: Env): Readonly<BrokerConfig> {
  return parseConfig(checkedSchema, env);
}
