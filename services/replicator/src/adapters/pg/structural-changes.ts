import { sql, type Database, type RawBuilder, type Transaction } from '@crdr/store';
import { ReplicaDivergedError, type StructuralEvent } from './apply-plan.js';

type Exec = (statement: RawBuilder<unknown>) => Promise<void>;

/**
 * Applies one change to destinations, durable subscriptions or users, exactly as
 * `replication.proto` defines it, with the primary's ids.
 */
export async function applyStructural(
  trx: Transaction<Database>,
  event: StructuralEvent,
  exec: Exec,
): Promise<void> {
  switch (event.change) {
    case 'destinationCreated':
      return destinationCreated(trx, event.destinationCreated!, exec);
    case 'destinationDeleted': {
      const id = event.destinationDeleted!.destinationId;
      await exec(sql`
        DELETE FROM messages WHERE store_id IN (SELECT id FROM stores WHERE destination_id = ${id})`);
      await exec(sql`DELETE FROM stores WHERE destination_id = ${id}`);
      await exec(sql`DELETE FROM destinations WHERE id = ${id}`);
      return;
    }
    case 'destinationPurged': {
      const purged = event.destinationPurged!;
      const kept = purged.kept;
      await exec(sql`
        DELETE FROM messages m
        WHERE m.store_id = ANY(${purged.storeIds}::int[])
          AND NOT EXISTS (
            SELECT FROM unnest(${kept.map((k) => k.storeId)}::int[],
                               ${kept.map((k) => k.priority)}::smallint[],
                               ${kept.map((k) => k.seq)}::int8[]) AS k(store_id, priority, seq)
            WHERE k.store_id = m.store_id AND k.priority = m.priority AND k.seq = m.seq)`);
      return;
    }
    case 'durableSubscriptionAdded': {
      const added = event.durableSubscriptionAdded!;
      await exec(sql`
        INSERT INTO stores (id, destination_id, kind, client_id, subscription_name, selector, created_at_ms)
        VALUES (${added.storeId}, ${added.destinationId}, 'durable', ${added.clientId},
                ${added.subscriptionName}, ${added.selector === undefined || added.selector === '' ? null : added.selector},
                ${added.createdAtMs}::int8)
        ON CONFLICT (id) DO NOTHING`);
      return;
    }
    case 'durableSubscriptionRemoved': {
      const storeId = event.durableSubscriptionRemoved!.storeId;
      await exec(sql`DELETE FROM messages WHERE store_id = ${storeId}`);
      await exec(sql`DELETE FROM stores WHERE id = ${storeId}`);
      return;
    }
    case 'usersChanged': {
      const changed = event.usersChanged!;
      for (const user of changed.upserted) {
        // The hash is stored as the primary computed it: the password never travels.
        await exec(sql`
          INSERT INTO users (username, password_hash, groups, console_access, replication_user, created_at_ms)
          VALUES (${user.username}, ${user.passwordHash}, ${user.groups}::text[], ${user.consoleAccess},
                  ${user.replicationUser}, ${user.createdAtMs}::int8)
          ON CONFLICT (username) DO UPDATE SET
            password_hash = EXCLUDED.password_hash, groups = EXCLUDED.groups,
            console_access = EXCLUDED.console_access, replication_user = EXCLUDED.replication_user,
            created_at_ms = EXCLUDED.created_at_ms`);
      }
      if (changed.deleted.length > 0) {
        await exec(sql`DELETE FROM users WHERE username = ANY(${changed.deleted}::text[])`);
      }
      return;
    }
  }
}

async function destinationCreated(
  trx: Transaction<Database>,
  created: NonNullable<StructuralEvent['destinationCreated']>,
  exec: Exec,
): Promise<void> {
  if (created.kind !== 'queue' && created.kind !== 'topic') {
    throw new ReplicaDivergedError(
      `destination ${created.destinationId} has unknown kind "${created.kind}"`,
    );
  }
  // Idempotent on the primary's id; a different destination under that id means the replica's
  // store is not a copy of the primary's, which must not pass silently.
  await exec(sql`
    INSERT INTO destinations (id, kind, name, created_at_ms)
    VALUES (${created.destinationId}, ${created.kind}, ${created.name}, ${created.createdAtMs}::int8)
    ON CONFLICT (id) DO NOTHING`);
  const found = await trx
    .selectFrom('destinations')
    .select(['kind', 'name'])
    .where('id', '=', created.destinationId)
    .executeTakeFirstOrThrow();
  if (found.kind !== created.kind || found.name !== created.name) {
    throw new ReplicaDivergedError(
      `destination ${created.destinationId} is ${found.kind} "${found.name}" on the replica but ` +
        `${created.kind} "${created.name}" on the primary`,
    );
  }
  const storeId = created.queueStoreId;
  if (created.kind === 'queue' && storeId !== undefined && storeId !== null) {
    await exec(sql`
      INSERT INTO stores (id, destination_id, kind, created_at_ms)
      VALUES (${storeId}, ${created.destinationId}, 'queue', ${created.createdAtMs}::int8)
      ON CONFLICT (id) DO NOTHING`);
  }
}
