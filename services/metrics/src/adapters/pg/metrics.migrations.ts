import { sql, type Kysely } from '@crdr/store';

interface Migration {
  up(db: Kysely<unknown>): Promise<void>;
  down(db: Kysely<unknown>): Promise<void>;
}

/** The metrics database's schema, in order. */
export const metricsMigrations: Readonly<Record<string, Migration>> = {
  '0001_metric_samples': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE metric_samples (
        metric text NOT NULL,
        region text NOT NULL,
        broker text NOT NULL,
        destination text NOT NULL DEFAULT '',
        ts_ms int8 NOT NULL,
        value float8 NOT NULL
      )`.execute(db);
      await sql`CREATE INDEX metric_samples_series ON metric_samples
        (metric, broker, destination, ts_ms)`.execute(db);
      await sql`CREATE INDEX metric_samples_ts ON metric_samples (ts_ms)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE metric_samples`.execute(db);
    },
  },
};
