import { defaultPgUrl, parseConfig, port, positive, z, type Env } from '@crdr/config';

const brokerId = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be a broker id');

const schema = z
  .object({
    /** The primary broker whose replication log is read. */
    REPLICATOR_PRIMARY_BROKER_ID: brokerId,
    /** The replica broker whose store the log is applied to; names the durable consumer. */
    REPLICATOR_REPLICA_BROKER_ID: brokerId,
    /** The replica broker's Postgres store, in this Region. */
    REPLICATOR_DB_URL: z
      .string()
      .url()
      .default(defaultPgUrl.replace(/\/postgres$/, '/crdr_replica')),
    REPLICATOR_DB_POOL_SIZE: positive().default(4),
    /** The primary Region's NATS (comma-separated URLs for a cluster). */
    REPLICATOR_NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
    /** The replication user: it may only read the log through its consumer. */
    REPLICATOR_NATS_USER: z.string().optional(),
    REPLICATOR_NATS_PASSWORD: z.string().optional(),
    /** PEM files: the CA that signed the NATS server's certificate, and this client's pair. */
    REPLICATOR_NATS_TLS_CA: z.string().optional(),
    REPLICATOR_NATS_TLS_CERT: z.string().optional(),
    REPLICATOR_NATS_TLS_KEY: z.string().optional(),
    /** The client's inbox prefix, when the replication user may only subscribe to its own. */
    REPLICATOR_NATS_INBOX_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/)
      .optional(),
    /** Events applied in one Postgres transaction, at most. */
    REPLICATOR_BATCH_MAX_EVENTS: positive().default(500),
    /** How long a batch waits for more events after its first one, in ms. */
    REPLICATOR_BATCH_MAX_WAIT_MS: positive().default(20),
    /** How long one pull waits for a first event when the log is idle, in ms. */
    REPLICATOR_IDLE_WAIT_MS: positive().default(5_000),
    /** Reconnection backoff after NATS or Postgres failed, in ms: first ceiling and cap. */
    REPLICATOR_BACKOFF_MIN_MS: positive().default(200),
    REPLICATOR_BACKOFF_MAX_MS: positive().default(10_000),
    /** Timeout of JetStream API calls (consumer info), in ms. */
    REPLICATOR_NATS_TIMEOUT_MS: positive().default(5_000),
    /** Used only when the replicator creates its consumer itself (when it may). */
    REPLICATOR_CONSUMER_ACK_WAIT_MS: positive().default(5_000),
    REPLICATOR_CONSUMER_MAX_ACK_PENDING: positive().default(10_000),
    REPLICATOR_GRPC_HOST: z.string().default('127.0.0.1'),
    REPLICATOR_GRPC_PORT: port().default(0),
    LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
  })
  .refine((c) => c.REPLICATOR_BACKOFF_MIN_MS <= c.REPLICATOR_BACKOFF_MAX_MS, {
    message: 'REPLICATOR_BACKOFF_MIN_MS must not exceed REPLICATOR_BACKOFF_MAX_MS',
    path: ['REPLICATOR_BACKOFF_MIN_MS'],
  })
  .refine(
    (c) => (c.REPLICATOR_NATS_TLS_CERT === undefined) === (c.REPLICATOR_NATS_TLS_KEY === undefined),
    {
      message: 'REPLICATOR_NATS_TLS_CERT and REPLICATOR_NATS_TLS_KEY go together',
      path: ['REPLICATOR_NATS_TLS_CERT'],
    },
  )
  .refine((c) => c.REPLICATOR_CONSUMER_MAX_ACK_PENDING >= c.REPLICATOR_BATCH_MAX_EVENTS, {
    message: 'REPLICATOR_CONSUMER_MAX_ACK_PENDING must be at least REPLICATOR_BATCH_MAX_EVENTS',
    path: ['REPLICATOR_CONSUMER_MAX_ACK_PENDING'],
  });

export type ReplicatorConfig = z.infer<typeof schema>;

/** Parses the replicator's configuration once, failing fast with every problem named. */
export function loadConfig(env: Env): Readonly<ReplicatorConfig> {
  return parseConfig(schema, env);
}
