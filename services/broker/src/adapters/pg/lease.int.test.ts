import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode, type CrdrError } from '@crdr/errors';
import { createDb, createPool, migrateToLatest, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, patientTimeoutMs, type TestDatabase } from '@crdr/testing';
import { createLease, type Lease, type LeaseOptions } from './lease.js';

const ttlMs = 1000;
const renewEveryMs = 200;
// Scheduling and query latency on a busy test machine.
const slackMs = 500;

interface Instance {
  readonly holderId: string;
  readonly lease: Lease;
  readonly db: Kysely<Database>;
  readonly crash: AbortController;
  readonly acquired: Array<{ token: bigint; atMs: number }>;
  readonly lost: CrdrError[];
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a failure'),
    (error: unknown) => error,
  );
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const patience = patientTimeoutMs(timeoutMs);
  const deadline = performance.now() + patience;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`not true within ${patience} ms`);
    await sleep(10);
  }
}

describe('active/standby lease', () => {
  let database: TestDatabase;
  let admin: Kysely<Database>;
  const instances: Instance[] = [];
  let leaseNumber = 0;

  beforeAll(async () => {
    database = await createTestDatabase('broker_lease');
    admin = createDb(createPool(database.url, { max: 2 }));
    await migrateToLatest(admin);
  });
  afterEach(async () => {
    for (const instance of instances.splice(0)) {
      instance.crash.abort();
      await instance.lease.stop().catch(() => undefined);
      await instance.db.destroy();
    }
  });
  afterAll(async () => {
    await admin?.destroy();
    await database?.drop();
  });

  // Each instance has its own pool, as the two broker processes would.
  function instance(name: string, holderId: string, options: Partial<LeaseOptions> = {}): Instance {
    const db = createDb(createPool(database.url, { max: 2 }));
    const acquired: Instance['acquired'] = [];
    const lost: CrdrError[] = [];
    const lease = createLease({
      db,
      name,
      holderId,
      ttlMs,
      renewEveryMs,
      onAcquired: (token) => acquired.push({ token, atMs: performance.now() }),
      onLost: (error) => lost.push(error),
      ...options,
    });
    const created = { holderId, lease, db, crash: new AbortController(), acquired, lost };
    instances.push(created);
    return created;
  }

  const freshName = () => `broker-${++leaseNumber}`;

  async function activeAndStandby(name: string) {
    const active = instance(name, 'host-a');
    await active.lease.start(active.crash.signal);
    const standby = instance(name, 'host-b');
    await standby.lease.start(standby.crash.signal);
    expect(active.lease.held).toBe(true);
    expect(standby.lease.held).toBe(false);
    return { active, standby };
  }

  it('lets exactly one of several racing instances hold it, and keeps it there while renewed', async () => {
    const name = freshName();
    const racers = Array.from({ length: 4 }, (_, i) => instance(name, `host-${i}`));
    await Promise.all(racers.map((racer) => racer.lease.start(racer.crash.signal)));
    const holders = () => racers.filter((racer) => racer.lease.held);
    expect(holders()).toHaveLength(1);
    expect(holders()[0]?.lease.token).toBe(1n);

    await sleep(ttlMs + 3 * renewEveryMs);
    expect(holders()).toHaveLength(1);
    expect(racers.flatMap((racer) => racer.acquired)).toHaveLength(1);
    expect(racers.flatMap((racer) => racer.lost)).toEqual([]);
    const row = await admin
      .selectFrom('leases')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    expect(row.token).toBe(1n);
    expect(row.holder).toBe(holders()[0]?.holderId);
  });

  it('passes to the standby once the lease expires when the active stops renewing', async () => {
    const { active, standby } = await activeAndStandby(freshName());
    const crashedAtMs = performance.now();
    active.crash.abort(); // as kill -9: no release
    await waitFor(() => standby.lease.held, ttlMs + renewEveryMs + slackMs);
    const takeoverMs = (standby.acquired[0]?.atMs ?? Infinity) - crashedAtMs;
    // How soon after expiry it passes is measured by pnpm bench:promotion, not asserted here:
    // on two busy cores a healthy standby can be seconds late. It did not pass before expiry.
    expect(takeoverMs).toBeGreaterThanOrEqual(ttlMs - renewEveryMs);
    expect(standby.lease.token).toBe(2n);
    // The crashed instance's own view lapses with its last renewal.
    expect(active.lease.held).toBe(false);
    expect(active.lost).toEqual([]);
  });

  it('fences the old active: its next write transaction fails once the takeover committed', async () => {
    const { active, standby } = await activeAndStandby(freshName());
    await active.db.transaction().execute((trx) => active.lease.assertHeld(trx));
    active.crash.abort(); // paused: it still believes it holds token 1
    await waitFor(() => standby.lease.held, ttlMs + renewEveryMs + slackMs);
    expect(active.lease.token).toBe(1n);

    const error = await failure(
      active.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('users')
          .values({
            username: 'ghost',
            password_hash: 'x',
            groups: [],
            console_access: false,
            replication_user: false,
            created_at_ms: 0n,
          })
          .execute();
        await active.lease.assertHeld(trx);
      }),
    );
    expect(hasErrorCode(error, 'Unavailable')).toBe(true);
    expect((error as Error).message).toBe('lease lost: another broker instance is active');
    expect(
      await admin.selectFrom('users').select('username').where('username', '=', 'ghost').execute(),
    ).toEqual([]);
    await standby.db.transaction().execute((trx) => standby.lease.assertHeld(trx));
  });

  it('makes a takeover wait for the old active’s write transaction that already passed assertHeld', async () => {
    const { active, standby } = await activeAndStandby(freshName());
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let passed!: () => void;
    const assertPassed = new Promise<void>((resolve) => (passed = resolve));
    const write = active.db.transaction().execute(async (trx) => {
      await active.lease.assertHeld(trx);
      passed();
      await committed;
      await trx
        .insertInto('users')
        .values({
          username: 'late',
          password_hash: 'x',
          groups: [],
          console_access: false,
          replication_user: false,
          created_at_ms: 0n,
        })
        .execute();
    });
    await assertPassed;
    active.crash.abort();
    await sleep(ttlMs + 2 * renewEveryMs);
    // Expired, but the takeover is blocked behind the open transaction's FOR SHARE lock.
    expect(standby.lease.held).toBe(false);
    commit();
    await write;
    await waitFor(() => standby.lease.held, ttlMs + renewEveryMs + slackMs);
    expect(
      await admin.selectFrom('users').select('username').where('username', '=', 'late').execute(),
    ).toHaveLength(1);
    const error = await failure(
      active.db.transaction().execute((trx) => active.lease.assertHeld(trx)),
    );
    expect(hasErrorCode(error, 'Unavailable')).toBe(true);
  });

  it('keeps renewing while a write transaction holds the lease row longer than the lease lasts', async () => {
    // A 100 MiB message takes seconds to write; the lease (2 s by default) must survive it.
    const name = freshName();
    const { active, standby } = await activeAndStandby(name);
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let passed!: () => void;
    const assertPassed = new Promise<void>((resolve) => (passed = resolve));
    const write = active.db.transaction().execute(async (trx) => {
      await active.lease.assertHeld(trx);
      passed();
      await committed;
    });
    await assertPassed;
    const expiresAt = async (): Promise<bigint> =>
      (
        await admin
          .selectFrom('leases')
          .select('expires_at_ms')
          .where('name', '=', name)
          .executeTakeFirstOrThrow()
      ).expires_at_ms;
    // Renewed past the lease's length while the write still holds the row.
    const first = await expiresAt();
    let renewed = first;
    const deadline = performance.now() + patientTimeoutMs(0);
    while (renewed < first + BigInt(ttlMs + 2 * renewEveryMs)) {
      if (performance.now() > deadline) throw new Error('no renewal while the write was open');
      await sleep(renewEveryMs);
      renewed = await expiresAt();
    }
    expect(active.lease.held).toBe(true);
    expect(active.lost).toEqual([]);
    expect(standby.lease.held).toBe(false);
    commit();
    await write;
    expect(active.lease.held).toBe(true);
  });

  it('hands over at once on a clean stop', async () => {
    const name = freshName();
    // A lease far longer than any wait below: a hand-over within it was a release, not expiry.
    const longTtlMs = 120_000;
    const active = instance(name, 'host-a', { ttlMs: longTtlMs });
    await active.lease.start();
    const standby = instance(name, 'host-b', { ttlMs: longTtlMs });
    await standby.lease.start();
    const stoppedAtMs = performance.now();
    await active.lease.stop();
    expect(active.lease.held).toBe(false);
    expect(active.lease.token).toBeUndefined();
    await waitFor(() => standby.lease.held, renewEveryMs + slackMs);
    expect((standby.acquired[0]?.atMs ?? Infinity) - stoppedAtMs).toBeLessThan(longTtlMs);
    expect(active.lost).toEqual([]);
    const error = await failure(
      active.db.transaction().execute((trx) => active.lease.assertHeld(trx)),
    );
    expect(hasErrorCode(error, 'Unavailable')).toBe(true);
  });

  it('calls onLost when a renewal finds another holder, and takes the lease back in a new term later', async () => {
    const name = freshName();
    const active = instance(name, 'host-a');
    await active.lease.start(active.crash.signal);
    await admin
      .updateTable('leases')
      .set((eb) => ({ holder: 'intruder', token: eb('token', '+', 1n), expires_at_ms: 0n }))
      .where('name', '=', name)
      .execute();
    await waitFor(() => active.lost.length > 0, renewEveryMs + slackMs);
    expect(hasErrorCode(active.lost[0], 'Unavailable')).toBe(true);
    expect(active.lease.held).toBe(false);
    expect(active.lease.token).toBeUndefined();
    // The intruder's lease had expired: the instance acquires again, with a greater token.
    await waitFor(() => active.lease.held, renewEveryMs + slackMs);
    expect(active.lease.token).toBe(3n);
    expect(active.acquired.map((a) => a.token)).toEqual([1n, 3n]);
  });

  it('refuses to start twice and rejects a renew interval that is not below the ttl', async () => {
    const name = freshName();
    expect(() => instance(name, 'host-a', { renewEveryMs: ttlMs })).toThrow(RangeError);
    const a = instance(name, 'host-a');
    await a.lease.start();
    expect(hasErrorCode(await failure(a.lease.start()), 'FailedPrecondition')).toBe(true);
  });
});
