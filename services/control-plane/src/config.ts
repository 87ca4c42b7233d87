import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPgUrl, parseConfig, port, positive, z, type Env } from '@crdr/config';

const regionName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'must be a Region name such as region-a');

/** `region-b=127.0.0.1:7001,region-c=10.0.0.3:7001` → {"region-b": "127.0.0.1:7001", ...}. */
const peers = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const match = /^([a-z0-9][a-z0-9-]*)=([^=\s]+:\d+)$/.exec(entry);
      if (match === null) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" must be REGION=HOST:PORT` });
        return z.NEVER;
      }
      out[match[1]!] = match[2]!;
    }
    return out;
  });

/** `orders-b=replicator-b:50053,...` → {"orders-b": "replicator-b:50053", ...}. */
const staticReplicators = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const match = /^([A-Za-z0-9._-]{1,100})=([^=\s]+:\d+)$/.exec(entry);
      if (match === null) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" must be REPLICA_BROKER_ID=HOST:PORT` });
        return z.NEVER;
      }
      out[match[1]!] = match[2]!;
    }
    return out;
  });

const schema = z
  .object({
    /** The Region this control plane serves; names ARNs and broker databases. */
    CONTROL_PLANE_REGION: regionName.default('region-a'),
    CONTROL_PLANE_HOST: z.string().default('127.0.0.1'),
    /** gRPC port of ControlPlaneService, ControlPlaneInternalService and ControlPlanePeerService; 0 = free. */
    CONTROL_PLANE_GRPC_PORT: port().default(0),
    /** Its own database (created and migrated when missing). Default crdr_cp_<region>. */
    CONTROL_PLANE_DB_URL: z.string().url().optional(),
    /** The other Regions' control planes: REGION=HOST:PORT, comma-separated. */
    CONTROL_PLANE_PEERS: peers,
    CONTROL_PLANE_PROVISIONER: z.enum(['local', 'static']).default('local'),
    /** The web console's HTTP port (0 = free); no console when unset. */
    CONTROL_PLANE_CONSOLE_PORT: port().optional(),
    /** `user:password` who may sign in to the console before any broker exists. */
    CONTROL_PLANE_CONSOLE_ADMIN: z
      .string()
      .regex(/^[^:]+:.+$/, 'user:password')
      .optional(),
    /** The Region's metrics service (MetricsService gRPC), for the console's lag figures. */
    CONTROL_PLANE_METRICS_GRPC: z.string().optional(),
    /** The other Regions' consoles, for links: REGION=URL, comma-separated. */
    CONTROL_PLANE_PEER_CONSOLES: z.string().optional(),
    /** Where the local provisioner keeps process records and logs, and CA files handed over by peers. */
    CONTROL_PLANE_STATE_DIR: z.string().optional(),
    /** The Postgres server where each broker's database crdr_<region>_<brokerid> is created. */
    CONTROL_PLANE_BROKER_PG_URL: z.string().url().default(defaultPgUrl),
    /** Prefix of the brokers' database names: <prefix><brokerid>. Default crdr_<region>_. */
    CONTROL_PLANE_BROKER_DB_PREFIX: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only')
      .optional(),
    /** This Region's NATS, which its brokers relay their replication logs to. */
    CONTROL_PLANE_NATS_URL: z.string().optional(),
    /** The relay user: brokers publish with it; the control plane manages consumers and streams with it. */
    CONTROL_PLANE_NATS_USER: z.string().optional(),
    CONTROL_PLANE_NATS_PASSWORD: z.string().optional(),
    /** PEM files: the CA of this Region's NATS server, and the client pair for mutual TLS. */
    CONTROL_PLANE_NATS_TLS_CA: z.string().optional(),
    CONTROL_PLANE_NATS_TLS_CERT: z.string().optional(),
    CONTROL_PLANE_NATS_TLS_KEY: z.string().optional(),
    /** This Region's NATS as a peer Region's replicator reaches it. Default CONTROL_PLANE_NATS_URL. */
    CONTROL_PLANE_REPLICATION_NATS_URL: z.string().optional(),
    /** The replication user handed to a peer's replicator (read-only on the log). */
    CONTROL_PLANE_REPLICATION_USER: z.string().optional(),
    CONTROL_PLANE_REPLICATION_PASSWORD: z.string().optional(),
    /** The inbox prefix the replication user may subscribe under. Default the client's _INBOX. */
    CONTROL_PLANE_REPLICATION_INBOX_PREFIX: z.string().optional(),
    /** Log level of the brokers and replicators started here. */
    CONTROL_PLANE_CHILD_LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
    /** BROKER_SCRYPT_COST for the brokers started here (tests lower it). */
    CONTROL_PLANE_BROKER_SCRYPT_COST: positive().optional(),
    /**
     * BROKER_AUTHORIZATION for the brokers started here: their authorization map as ActiveMQ
     * entries in JSON (the broker checks it at start). Give both Regions of a pair the same map,
     * so that the rules hold after a promotion. Unset: the brokers' default rule set.
     */
    CONTROL_PLANE_BROKER_AUTHORIZATION: z
      .string()
      .optional()
      .refine((value) => {
        if (value === undefined) return true;
        try {
          return Array.isArray(JSON.parse(value));
        } catch {
          return false;
        }
      }, 'must be a JSON list of authorization entries'),
    /**
     * BROKER_LEASE_TTL_MS for the brokers started here (renewed every quarter of it); the
     * broker's default (2 s) when unset. A longer lease rides out longer stalls of an
     * overloaded host, at the cost of a slower takeover by the standby.
     */
    CONTROL_PLANE_BROKER_LEASE_TTL_MS: positive().optional(),
    /**
     * Static provisioning: the console user the control plane administers the brokers with. The
     * deployment gives the brokers the same pair (BROKER_CONTROL_PLANE_USER/PASSWORD): they create
     * it at start and register with it. Default user crdr-cp-<region>; the password is required
     * with CONTROL_PLANE_PROVISIONER=static.
     */
    CONTROL_PLANE_BROKER_ADMIN_USER: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{2,100}$/, 'letters, digits, and . _ ~ - only (2-100 characters)')
      .optional(),
    CONTROL_PLANE_BROKER_ADMIN_PASSWORD: z
      .string()
      .min(1)
      .regex(/^[^,:=]+$/, 'must not contain commas, colons, or equal signs')
      .optional(),
    /**
     * Static provisioning: the replicators the deployment runs, REPLICA_BROKER_ID=HOST:PORT
     * comma-separated (their ReplicatorService). StartReplication reports this endpoint.
     */
    CONTROL_PLANE_STATIC_REPLICATORS: staticReplicators,
    /** Static provisioning: how long CreateBroker waits for the instances to register, in ms. */
    CONTROL_PLANE_STATIC_REGISTER_TIMEOUT_MS: positive().default(600_000),
    /** How long a broker may take to serve after a start (lease, migrations), in ms. */
    CONTROL_PLANE_BROKER_READY_TIMEOUT_MS: positive().default(60_000),
    /**
     * Local provisioning: the longest wait, in ms, before restarting a broker instance or
     * replicator that keeps dying soon after each start (the wait doubles from 1 s up to it).
     */
    CONTROL_PLANE_RESTART_BACKOFF_MAX_MS: positive().default(30_000),
    /**
     * How often, in ms, each paired primary of this Region asks its counterpart's Region whether
     * it was promoted past it (a failover during a partition); if so it is fenced
     * (docs/design/partitions.md).
     */
    CONTROL_PLANE_RECONCILE_INTERVAL_MS: positive().default(5_000),
    /**
     * A paired primary that starts again held waits this long, in ms, for its peer Region to say
     * whether it was superseded; then CONTROL_PLANE_PEER_SILENT applies.
     */
    CONTROL_PLANE_PEER_WAIT_MS: positive().default(30_000),
    /**
     * What a held primary does once the peer Region has been silent for CONTROL_PLANE_PEER_WAIT_MS:
     * `serve` (default: availability; if the counterpart was promoted meanwhile, reconciliation
     * fences it later and keeps its writes as a divergent tail) or `stay-held` (no writes until
     * the peer answers).
     */
    CONTROL_PLANE_PEER_SILENT: z.enum(['serve', 'stay-held']).default('serve'),
    /**
     * Tests only: `STEP[:before|:after|:pause-MS],...` makes a promotion saga SIGKILL this
     * process right after STEP is recorded as started (before), after it acted but before its
     * outcome is recorded (after), or wait MS before acting (pause).
     */
    CONTROL_PLANE_FAILPOINT: z.string().optional(),
    LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
  })
  .refine(
    (c) =>
      (c.CONTROL_PLANE_NATS_TLS_CERT === undefined) ===
      (c.CONTROL_PLANE_NATS_TLS_KEY === undefined),
    {
      message: 'CONTROL_PLANE_NATS_TLS_CERT and CONTROL_PLANE_NATS_TLS_KEY go together',
      path: ['CONTROL_PLANE_NATS_TLS_CERT'],
    },
  )
  .refine(
    (c) =>
      (c.CONTROL_PLANE_REPLICATION_USER === undefined) ===
      (c.CONTROL_PLANE_REPLICATION_PASSWORD === undefined),
    {
      message: 'CONTROL_PLANE_REPLICATION_USER and CONTROL_PLANE_REPLICATION_PASSWORD go together',
      path: ['CONTROL_PLANE_REPLICATION_USER'],
    },
  )
  .refine(
    (c) =>
      c.CONTROL_PLANE_PROVISIONER !== 'static' ||
      c.CONTROL_PLANE_BROKER_ADMIN_PASSWORD !== undefined,
    {
      message:
        'is required with CONTROL_PLANE_PROVISIONER=static (the brokers get the same password as BROKER_CONTROL_PLANE_PASSWORD)',
      path: ['CONTROL_PLANE_BROKER_ADMIN_PASSWORD'],
    },
  )
  .transform((c) => {
    const dbName = `crdr_cp_${c.CONTROL_PLANE_REGION.replace(/[^a-z0-9]/g, '_')}`;
    return {
      ...c,
      CONTROL_PLANE_DB_URL:
        c.CONTROL_PLANE_DB_URL ?? defaultPgUrl.replace(/\/postgres$/, `/${dbName}`),
      CONTROL_PLANE_STATE_DIR:
        c.CONTROL_PLANE_STATE_DIR ?? join(tmpdir(), `crdr-control-plane-${c.CONTROL_PLANE_REGION}`),
      CONTROL_PLANE_REPLICATION_NATS_URL:
        c.CONTROL_PLANE_REPLICATION_NATS_URL ?? c.CONTROL_PLANE_NATS_URL,
    };
  });

export type ControlPlaneConfig = z.infer<typeof schema>;

/** Parses the control plane's configuration once, failing fast with every problem named. */
export function loadConfig(env: Env): Readonly<ControlPlaneConfig> {
  return parseConfig(schema, env);
}
