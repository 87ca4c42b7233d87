import { createHash } from 'node:crypto';
import { sql, type Database, type Kysely } from '@crdr/store';

export interface StateDigest {
  /** SHA-256, hex, of the canonical listing of the durable state. */
  readonly digest: string;
  readonly destinations: number;
  readonly durableSubscriptions: number;
  readonly messages: number;
  readonly users: number;
  /** The last replication event applied (replica) or written (primary) when it was taken. */
  readonly sequence: bigint;
}

const pageSize = 2000;

/**
 * Digests a broker's durable state — destinations, durable subscriptions, every message with
 * its id, headers, body and delivery count, and users — in one consistent snapshot, in a
 * canonical order that does not depend on how the rows were written, so that two stores can be
 * proven identical by comparing two strings. Dispatch marks and timestamps of the log itself are
 * left out: they are bookkeeping, not state a client can see.
 */
export async function computeStateDigest(db: Kysely<Database>): Promise<StateDigest> {
  return db.transaction().execute(async (trx) => {
    await sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`.execute(trx);
    // Every table at once, before the snapshot and in the order a replica's resync truncates
    // them: taken one query at a time, the digest could hold one table while the TRUNCATE holds
    // the next, and Postgres would end one of the two as a deadlock.
    await sql`LOCK TABLE messages, stores, destinations, users IN ACCESS SHARE MODE`.execute(trx);
    const hash = createHash('sha256');
    const line = (...fields: ReadonlyArray<string | number | bigint | null>): void => {
      hash.update(JSON.stringify(fields.map((f) => (typeof f === 'bigint' ? f.toString() : f))));
      hash.update('\n');
    };
    const destinations = await trx
      .selectFrom('destinations')
      .select(['id', 'kind', 'name'])
      .orderBy('kind')
      .orderBy('name')
      .execute();
    for (const d of destinations) line('destination', d.kind, d.name);
    const stores = await trx
      .selectFrom('stores')
      .innerJoin('destinations', 'destinations.id', 'stores.destination_id')
      .select([
        'stores.id',
        'stores.kind',
        'destinations.kind as dkind',
        'destinations.name',
        'stores.client_id',
        'stores.subscription_name',
      ])
      .orderBy('stores.id')
      .execute();
    const storeName = new Map<number, string>();
    let durableSubscriptions = 0;
    for (const s of stores) {
      const name =
        s.kind === 'queue'
          ? `queue:${s.name}`
          : `durable:${s.name}:${s.client_id}:${s.subscription_name}`;
      storeName.set(s.id, name);
      if (s.kind === 'durable') durableSubscriptions++;
    }
    for (const name of [...storeName.values()].sort()) line('store', name);
    let messages = 0;
    for (const [storeId, name] of [...storeName.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1))) {
      let after: { priority: number; seq: bigint } = { priority: 10, seq: 0n };
      for (;;) {
        const rows = await trx
          .selectFrom('messages')
          .select([
            'priority',
            'seq',
            'message_id',
            'destination',
            'headers',
            'body',
            'expires_at_ms',
            'redelivery_count',
          ])
          .where('store_id', '=', storeId)
          .where((eb) =>
            eb.or([
              eb('priority', '<', after.priority),
              eb.and([eb('priority', '=', after.priority), eb('seq', '>', after.seq)]),
            ]),
          )
          .orderBy('priority', 'desc')
          .orderBy('seq')
          .limit(pageSize)
          .execute();
        for (const m of rows) {
          const headers = Object.keys(m.headers)
            .sort()
            .map((k) => [k, m.headers[k]!]);
          line(
            'message',
            name,
            m.priority,
            m.seq,
            m.message_id,
            m.destination,
            JSON.stringify(headers),
            m.expires_at_ms,
            m.redelivery_count,
          );
          hash.update(m.body);
          hash.update('\n');
          messages++;
        }
        if (rows.length < pageSize) break;
        const last = rows[rows.length - 1]!;
        after = { priority: last.priority, seq: last.seq };
      }
    }
    const users = await trx.selectFrom('users').selectAll().orderBy('username').execute();
    for (const u of users) {
      line(
        'user',
        u.username,
        u.password_hash,
        JSON.stringify([...u.groups].sort()),
        String(u.console_access),
        String(u.replication_user),
      );
    }
    const applied = await trx
      .selectFrom('replication_applied')
      .select('applied_seq')
      .executeTakeFirst();
    const written = await trx.selectFrom('replication_log').select('last_seq').executeTakeFirst();
    // A promoted replica keeps the position it applied: as a primary its own log counts.
    const meta = await trx.selectFrom('broker_meta').select('role').executeTakeFirst();
    return {
      digest: hash.digest('hex'),
      destinations: destinations.length,
      durableSubscriptions,
      messages,
      users: users.length,
      sequence:
        meta?.role === 'PRIMARY'
          ? (written?.last_seq ?? 0n)
          : (applied?.applied_seq ?? written?.last_seq ?? 0n),
    };
  });
}
