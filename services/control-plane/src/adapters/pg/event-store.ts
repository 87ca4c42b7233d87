import type pg from 'pg';
import { conflict } from '@crdr/errors';

/**
 * An append-only event store on Postgres: one row per event, numbered per stream. The unique
 * (stream_id, version) is the optimistic concurrency check: two writers that read the same
 * version both try to insert the next one and exactly one succeeds; the other gets a Conflict.
 */
export interface StoredEvent<E> {
  readonly streamId: string;
  readonly version: number;
  readonly event: E;
  readonly recordedAt: Date;
}

export interface EventStore<E extends { readonly type: string }> {
  /** Creates the table when missing. */
  migrate(): Promise<void>;
  /** The stream's events in order, and its version (0 when empty). */
  readStream(streamId: string): Promise<{ version: number; events: E[] }>;
  /** Every stream's events, in order, keyed by stream id. */
  readAll(): Promise<Map<string, E[]>>;
  /**
   * Appends `events` after `expectedVersion` in one transaction; a Conflict when the stream
   * moved on meanwhile (nothing is written then). Returns the new version.
   */
  append(streamId: string, expectedVersion: number, events: readonly E[]): Promise<number>;
}

const uniqueViolation = '23505';

/** JSON with bigints kept: `{"$bigint": "12"}` in the row, a bigint again when read. */
const encode = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? { $bigint: v.toString() } : v,
  );
const revive = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$bigint' && typeof record['$bigint'] === 'string') {
      return BigInt(record['$bigint']);
    }
    return Object.fromEntries(keys.map((k) => [k, revive(record[k])]));
  }
  return value;
};

interface Row {
  stream_id: string;
  version: number;
  data: unknown;
}

export function createEventStore<E extends { readonly type: string }>(
  pool: pg.Pool,
  table = 'broker_events',
): EventStore<E> {
  return {
    async migrate() {
      await pool.query(`
        CREATE TABLE IF NOT EXISTS ${table} (
          position bigserial PRIMARY KEY,
          stream_id text NOT NULL,
          version integer NOT NULL,
          type text NOT NULL,
          data jsonb NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (stream_id, version)
        )`);
    },
    async readStream(streamId) {
      const { rows } = await pool.query<Row>(
        `SELECT stream_id, version, data FROM ${table} WHERE stream_id = $1 ORDER BY version`,
        [streamId],
      );
      return {
        version: rows.length === 0 ? 0 : rows[rows.length - 1]!.version,
        events: rows.map((r) => revive(r.data) as E),
      };
    },
    async readAll() {
      const { rows } = await pool.query<Row>(
        `SELECT stream_id, version, data FROM ${table} ORDER BY stream_id, version`,
      );
      const streams = new Map<string, E[]>();
      for (const row of rows) {
        const events = streams.get(row.stream_id) ?? [];
        events.push(revive(row.data) as E);
        streams.set(row.stream_id, events);
      }
      return streams;
    },
    async append(streamId, expectedVersion, events) {
      if (events.length === 0) return expectedVersion;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        let version = expectedVersion;
        for (const event of events) {
          version += 1;
          await client.query(
            `INSERT INTO ${table} (stream_id, version, type, data) VALUES ($1, $2, $3, $4::jsonb)`,
            [streamId, version, event.type, encode(event)],
          );
        }
        await client.query('COMMIT');
        return version;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((error as { code?: string }).code === uniqueViolation) {
          throw conflict(
            `${streamId} was changed concurrently (expected version ${expectedVersion}); retry`,
            { cause: error, details: { state: 'CONCURRENT_MODIFICATION', streamId } },
          );
        }
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
