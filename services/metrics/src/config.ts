import { count, defaultPgUrl, parseConfig, port, positive, z, type Env } from '@crdr/config';

/** One scrape target as METRICS_TARGETS lists it (the shape of ControlPlaneInternalService's Target). */
const targetSchema = z.object({
  brokerId: z.string().min(1),
  brokerName: z.string().default(''),
  region: z.string().default(''),
  /** PRIMARY, REPLICA, or empty for an unpaired broker. */
  dataReplicationRole: z.enum(['PRIMARY', 'REPLICA', '']).default(''),
  /** host:port of each broker instance's gRPC. */
  brokerGrpcEndpoints: z.array(z.string().min(1)).default([]),
  /** host:port of the replicator's gRPC, for a replica. */
  replicatorGrpcEndpoint: z.string().default(''),
  adminUsername: z.string().default(''),
  adminPassword: z.string().default(''),
  /**
   * The pair's status in the registry: a replica's replicator is expected to run (and its
   * absence is a stall) only while REPLICATING, PROMOTED or DEMOTED. REPLICATING when not given.
   */
  replicationStatus: z.string().default('REPLICATING'),
});

export type StaticTarget = z.infer<typeof targetSchema>;

const targetsJson = z.string().transform((text, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
    return z.NEVER;
  }
  const result = z.array(targetSchema).safeParse(parsed);
  if (!result.success) {
    for (const issue of result.error.issues) {
      ctx.addIssue({
        code: 'custom',
        message: `[${issue.path.join('.')}] ${issue.message}`,
      });
    }
    return z.NEVER;
  }
  return result.data;
});

const schema = z
  .object({
    /** The Region this service measures; labels every series. */
    METRICS_REGION: z.string().min(1).default('local'),
    /** Its own Postgres database, created and migrated when missing. */
    METRICS_DB_URL: z
      .string()
      .url()
      .default(defaultPgUrl.replace(/\/postgres$/, '/crdr_metrics')),
    METRICS_DB_POOL_SIZE: positive().default(4),
    /** How often brokers and replicators are asked for their figures, in ms. */
    METRICS_INTERVAL_MS: positive().default(1_000),
    /** Deadline of each scrape call, in ms. */
    METRICS_SCRAPE_TIMEOUT_MS: positive().default(2_000),
    /** How long samples are kept, in ms (default 15 days, as CloudWatch's 1-minute data). */
    METRICS_RETENTION_MS: positive().default(15 * 24 * 3600 * 1000),
    /** The Region's control plane (host:port), asked for the targets every round. */
    METRICS_CONTROL_PLANE: z.string().min(1).optional(),
    /** A fixed JSON list of targets, for tests and deployments without a control plane. */
    METRICS_TARGETS: targetsJson.optional(),
    METRICS_HOST: z.string().default('127.0.0.1'),
    METRICS_HTTP_PORT: port().default(0),
    METRICS_GRPC_PORT: port().default(0),
    /** 0: no background collection (tests drive `collectOnce`). */
    METRICS_COLLECT: count().max(1).default(1),
    LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
  })
  .refine((c) => c.METRICS_CONTROL_PLANE === undefined || c.METRICS_TARGETS === undefined, {
    message: 'METRICS_CONTROL_PLANE and METRICS_TARGETS are exclusive: give one',
    path: ['METRICS_TARGETS'],
  });

export type MetricsConfig = z.infer<typeof schema>;

/** Parses the metrics service's configuration once, failing fast with every problem named. */
export function loadConfig(env: Env): Readonly<MetricsConfig> {
  return parseConfig(schema, env);
}
