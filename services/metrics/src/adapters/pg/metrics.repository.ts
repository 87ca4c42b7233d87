import {
  createDb,
  createPool,
  ensureDatabase,
  migrateToLatest,
  sql,
  type Kysely,
} from '@crdr/store';
import type { Sample } from '../../domain/metric-catalog.js';
import { metricsMigrations } from './metrics.migrations.js';

interface MetricsDatabase {
  metric_samples: {
    metric: string;
    region: string;
    broker: string;
    destination: string;
    ts_ms: bigint;
    value: number;
  };
}

export interface SeriesFilter {
  readonly metric: string;
  readonly broker?: string;
  readonly region?: string;
  /** '' for the broker-level series. */
  readonly destination: string;
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
}

export interface SeriesKey {
  readonly metric: string;
  readonly region: string;
  readonly broker: string;
  readonly destination: string;
}

export interface MetricsRepository {
  /** Creates the database when missing and applies the migrations. */
  prepare(): Promise<void>;
  insert(samples: readonly Sample[]): Promise<void>;
  /** The samples of the matching series in [fromMs, toMs), in time order. */
  select(filter: SeriesFilter): Promise<Array<{ timestampMs: number; value: number }>>;
  /** The distinct series, optionally of one metric. */
  listSeries(metric?: string): Promise<SeriesKey[]>;
  /** Removes the samples older than `beforeMs`; returns how many. */
  deleteBefore(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}

export function createMetricsRepository(options: {
  readonly url: string;
  readonly poolSize: number;
}): MetricsRepository {
  const pool = createPool(options.url, {
    max: options.poolSize,
    applicationName: 'crdr-metrics',
  });
  const db: Kysely<MetricsDatabase> = createDb<MetricsDatabase>(pool);
  return {
    async prepare() {
      await ensureDatabase(options.url);
      await migrateToLatest(db, metricsMigrations);
    },
    async insert(samples) {
      if (samples.length === 0) return;
      // One statement per round, however many series.
      await sql`INSERT INTO metric_samples (metric, region, broker, destination, ts_ms, value)
        SELECT * FROM unnest(${samples.map((s) => s.metric)}::text[],
          ${samples.map((s) => s.region)}::text[], ${samples.map((s) => s.broker)}::text[],
          ${samples.map((s) => s.destination)}::text[],
          ${samples.map((s) => String(s.timestampMs))}::int8[],
          ${samples.map((s) => s.value)}::float8[])`.execute(db);
    },
    async select(filter) {
      let query = db
        .selectFrom('metric_samples')
        .select(['ts_ms', 'value'])
        .where('metric', '=', filter.metric)
        .where('destination', '=', filter.destination)
        .where('ts_ms', '>=', BigInt(filter.fromMs))
        .where('ts_ms', '<', BigInt(filter.toMs));
      if (filter.broker !== undefined) query = query.where('broker', '=', filter.broker);
      if (filter.region !== undefined) query = query.where('region', '=', filter.region);
      const rows = await query.orderBy('ts_ms').execute();
      return rows.map((r) => ({ timestampMs: Number(r.ts_ms), value: Number(r.value) }));
    },
    async listSeries(metric) {
      let query = db
        .selectFrom('metric_samples')
        .select(['metric', 'region', 'broker', 'destination'])
        .distinct();
      if (metric !== undefined) query = query.where('metric', '=', metric);
      return query.orderBy('metric').orderBy('broker').orderBy('destination').execute();
    },
    async deleteBefore(beforeMs) {
      const result = await db
        .deleteFrom('metric_samples')
        .where('ts_ms', '<', BigInt(beforeMs))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async close() {
      await db.destroy();
    },
  };
}
