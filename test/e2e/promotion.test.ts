import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMqctl } from '../../packages/mqctl/src/mqctl-process.test-helper.js';
import { waitFor } from '@crdr/testing';
import { isStompServerError, type StompMessage } from '@crdr/stomp';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  appUser,
  connectAny,
  createPair,
  failure,
  sendAll,
  startPromotionRegions,
  statusOf,
  stompEndpoints,
  type PromotionRegion,
  type PromotionRegions,
} from '../support/promotion-regions.js';
import { startSteadyLoad } from '../support/steady-stomp-load.js';

// Issue 4 items 5-6 end to end, on one pair through the control planes' API (local provisioner,
// real brokers, replicators, TLS nats-servers): a switchover a → b under a steady STOMP producer
// and consumer (0 lost, 0 duplicated) raced by a second Promote; fail-back by mqctl as a real
// process; a failover with every process of region-a killed, which comes back held, is fenced,
// and whose divergent tail is listed and republished to the new primary.
// Region-b's saga pauses at two steps (CONTROL_PLANE_FAILPOINT pause) so that the statuses
// shown while a promotion runs, and a switchover refused during a failover, are observed
// deterministically.

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;

const role = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationRole;
const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;
const counterpart = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationCounterpart;

/** Records every ReplicationStatus each side shows until stopped. */
function sampleStatuses(ids: Array<[PromotionRegion, string]>) {
  const seen = ids.map(() => new Set<string>());
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(
        ids.map(async ([region, id], i) => {
          const d = await region.describe(id).catch(() => undefined);
          if (d !== undefined) seen[i]!.add(statusOf(d));
        }),
      );
      await sleep(40);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen.map((s) => [...s]);
    },
  };
}

async function waitSameDigest(
  primary: [PromotionRegion, string],
  replica: [PromotionRegion, string],
) {
  let last: unknown;
  await waitFor(
    async () => {
      const [p, r] = await Promise.all([
        primary[0].digest(primary[1]),
        replica[0].digest(replica[1]),
      ]);
      last = { p, r };
      return p.digest === r.digest && p.sequence === r.sequence;
    },
    'equal state digests on both sides',
    60_000,
    250,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`, { cause: error });
  });
}

async function receive(endpoints: readonly string[], queue: string, count: number) {
  const { client, refusals } = await connectAny(endpoints);
  if (client === undefined) throw new Error(`no broker accepted: ${refusals.join('; ')}`);
  const bodies: string[] = [];
  await client.subscribe(queue, (m: StompMessage) => bodies.push(m.body.toString()), {
    ack: 'auto',
  });
  await waitFor(() => bodies.length >= count, `${count} messages on ${queue}`, 30_000, 50).catch(
    (error: unknown) => {
      throw new Error(`${(error as Error).message}; got ${JSON.stringify(bodies)}`, {
        cause: error,
      });
    },
  );
  await sleep(300);
  await client.disconnect();
  return bodies;
}

const appReader = {
  username: 'app-reader',
  password: 'app-reader-password-1',
  groups: ['apps'],
  consoleAccess: false,
};

beforeAll(async () => {
  regions = await startPromotionRegions('promo');
  // Region-b's saga pauses before two steps so the statuses in between can be seen.
  await regions.b.killControlPlane();
  await regions.b.start({
    CONTROL_PLANE_FAILPOINT: 'WAITING_FOR_REPLICA:pause-1500,FENCING_OLD_PRIMARY:pause-2000',
  });
  ({ primaryId, replicaId } = await createPair(regions, 'orders'));
  // A user without console access, in group apps: the default authorization rules confine it
  // to the apps namespace. Its groups replicate, so the rules hold on the promoted replica.
  await regions.a.client.createUser({ brokerId: primaryId, ...appReader, replicationUser: false });
  await sendAll(stompEndpoints(await regions.a.describe(primaryId)), '/queue/payroll', ['salary']);
  await waitSameDigest([regions.a, primaryId], [regions.b, replicaId]);
});

afterAll(async () => {
  await regions?.stop();
});

describe('promotion sagas across two Regions', () => {
  it('switches over a → b under steady load; of two concurrent promotes exactly one wins', async () => {
    const a0 = await regions.a.describe(primaryId);
    const b0 = await regions.b.describe(replicaId);
    const endpoints = [...stompEndpoints(a0), ...stompEndpoints(b0)];
    const load = startSteadyLoad({
      queue: '/queue/Switchover',
      endpoints: () => endpoints,
      intervalMs: 5,
      credentials: { login: appUser.username, passcode: appUser.password },
    });
    await load.waitForConfirmed(200);
    const sampler = sampleStatuses([
      [regions.a, primaryId],
      [regions.b, replicaId],
    ]);

    const outcomes = await Promise.allSettled([
      regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' }),
      regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won, 'exactly one Promote wins').toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'Conflict' });

    const b1 = await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'PRIMARY and PROMOTED',
    );
    expect(counterpart(b1)).toMatchObject({ brokerId: primaryId, region: 'region-a' });
    expect(b1.dataReplicationMetadata?.promotion ?? null).toBeNull();
    expect(b1.brokerState, 'the new primary is RUNNING').toBe('RUNNING');
    const a1 = await regions.a.waitForBroker(
      primaryId,
      (d) => role(d) === 'REPLICA' && status(d) === 'REPLICATING',
      'the replica of b, replicating',
    );
    expect(counterpart(a1)).toMatchObject({ brokerId: replicaId, region: 'region-b' });
    expect(a1.brokerState, 'the old primary, now a replica, shows REPLICA').toBe('REPLICA');

    await load.waitForConfirmed(200);
    const report = await load.stop();
    const [seenA, seenB] = await sampler.stop();
    const summary = JSON.stringify({ ...report, lost: report.lost.length });
    expect(report.lost, `messages lost (${summary})`).toEqual([]);
    expect(report.duplicated, 'messages duplicated').toEqual([]);
    expect(report.sentConfirmed).toBeGreaterThanOrEqual(400);
    expect(seenB).toContain('REPLICA/PROMOTION_IN_PROGRESS');
    expect(seenA).toContain('PRIMARY/DEMOTION_IN_PROGRESS');

    await waitSameDigest([regions.b, replicaId], [regions.a, primaryId]);
    // The old primary refuses clients and names the new one.
    const refused = await connectAny(stompEndpoints(a1));
    expect(refused.client).toBeUndefined();
    expect(refused.refusals.join(' ')).toContain(replicaId);

    // Only the replica's Region promotes, and only a replica.
    expect(
      await failure(regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' })),
    ).toMatchObject({ code: 'Conflict', message: expect.stringContaining('region-a') });
    expect(
      await failure(regions.b.client.promote({ brokerId: primaryId, mode: 'SWITCHOVER' })),
    ).toMatchObject({ code: 'NotFound' });
    expect(
      await failure(regions.a.client.promote({ brokerId: primaryId, mode: 'SIDEWAYS' })),
    ).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('mode') });

    // Authorization holds on the new primary: the reader may not read payroll, only apps.*.
    const reader = await connectAny(stompEndpoints(b1), appReader);
    expect(reader.client, reader.refusals.join('; ')).toBeDefined();
    const refusedRead = await reader
      .client!.subscribe('/queue/payroll', () => undefined)
      .then(
        () => 'subscribed',
        (e: unknown) => (isStompServerError(e) ? e.headers['message'] : String(e)),
      );
    expect(refusedRead).toBe(
      `user "${appReader.username}" is not authorized: reading /queue/payroll needs the read right`,
    );
    const allowed = await connectAny(stompEndpoints(b1), appReader);
    const got: string[] = [];
    await allowed.client!.subscribe('/queue/apps.after-switchover', (m) =>
      got.push(m.body.toString()),
    );
    await allowed.client!.send('/queue/apps.after-switchover', 'mine', {}, { receipt: true });
    await waitFor(() => Promise.resolve(got.length === 1), 'the reader to get its own message');
    await allowed.client!.disconnect();
    const admin = await connectAny(stompEndpoints(b1));
    const salaries: string[] = [];
    await admin.client!.subscribe('/queue/payroll', (m) => salaries.push(m.body.toString()));
    await waitFor(() => Promise.resolve(salaries.length === 1), 'the payroll message, still there');
    expect(salaries).toEqual(['salary']);
    await admin.client!.disconnect();
  });

  it('fails back b → a by a switchover run with `mqctl promote --wait`', async () => {
    const result = await runMqctl([
      '--region',
      'region-a',
      '--endpoint-url',
      regions.a.address,
      '--output',
      'json',
      'promote',
      '--broker-id',
      primaryId,
      '--mode',
      'SWITCHOVER',
      '--wait',
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('SWITCHOVER');
    const printed = JSON.parse(result.stdout) as {
      BrokerId: string;
      DataReplicationMetadata: { DataReplicationRole: string };
    };
    expect(printed.BrokerId).toBe(primaryId);
    expect(printed.DataReplicationMetadata.DataReplicationRole).toBe('PRIMARY');
    await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'REPLICA' && status(d) === 'REPLICATING',
      'the replica of a again',
    );
    const a2 = await regions.a.describe(primaryId);
    await sendAll(stompEndpoints(a2), '/queue/AfterFailback', ['f-0', 'f-1', 'f-2']);
    await waitSameDigest([regions.a, primaryId], [regions.b, replicaId]);
  });

  it('fails over a → b with region-a killed; a returns held, is fenced, and its divergent tail is republished', async () => {
    const a0 = await regions.a.describe(primaryId);
    // Events b never receives: the link to region-a's NATS is cut, then a commits them.
    regions.linkToA.cut();
    await sendAll(stompEndpoints(a0), '/queue/Tail', [
      'tail-0',
      'tail-1',
      'tail-2',
      'tail-3',
      'tail-4',
    ]);
    await regions.a.killAll();

    await regions.b.client.promote({ brokerId: replicaId, mode: 'FAILOVER' });
    const during = await failure(
      regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' }),
    );
    expect(during.code).toBe('Conflict');
    expect(during.message).toContain('failover');
    const b1 = await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'PRIMARY after the failover',
    );
    await sendAll(stompEndpoints(b1), '/queue/AfterFailover', ['x-0']);

    // Region-a comes back: its broker is held, then fenced by b's saga, and follows b.
    regions.linkToA.heal();
    await regions.a.restartAll();
    const a1 = await regions.a.waitForBroker(
      primaryId,
      (d) => role(d) === 'REPLICA' && (d.dataReplicationMetadata?.divergentTail ?? null) !== null,
      'fenced as a replica of b, with its divergent tail',
    );
    expect(counterpart(a1)).toMatchObject({ brokerId: replicaId, region: 'region-b' });
    const tail = a1.dataReplicationMetadata!.divergentTail!;
    expect(Number(tail.eventCount)).toBeGreaterThanOrEqual(5);
    expect(tail.destinations).toContain('/queue/Tail');
    expect(tail.state).toBe('PENDING');
    const refused = await connectAny(stompEndpoints(a1));
    expect(refused.client, 'the old primary refuses clients').toBeUndefined();

    const listed = await regions.a.client.listDivergentEvents({ brokerId: primaryId });
    expect(listed.events.filter((e) => e.eventType === 'MESSAGE_SENT')).toHaveLength(5);
    expect(
      await failure(regions.a.client.resolveDivergentTail({ brokerId: primaryId, action: 'KEEP' })),
    ).toMatchObject({ code: 'BadRequest' });
    expect(
      await failure(regions.b.client.listDivergentEvents({ brokerId: replicaId })),
    ).toMatchObject({ code: 'NotFound' });

    const republished = await regions.a.client.resolveDivergentTail({
      brokerId: primaryId,
      action: 'REPUBLISH',
    });
    expect(Number(republished.republishedMessages)).toBe(5);
    expect(republished.summary?.state).toBe('REPUBLISHED');
    const again = await regions.a.client.resolveDivergentTail({
      brokerId: primaryId,
      action: 'REPUBLISH',
    });
    expect(Number(again.republishedMessages), 'nothing is sent twice').toBe(5);
    expect(
      await failure(
        regions.a.client.resolveDivergentTail({ brokerId: primaryId, action: 'DISCARD' }),
      ),
    ).toMatchObject({ code: 'Conflict' });
    const bodies = await receive(stompEndpoints(b1), '/queue/Tail', 5);
    expect(bodies.sort()).toEqual(['tail-0', 'tail-1', 'tail-2', 'tail-3', 'tail-4']);

    await regions.a.waitForBroker(
      primaryId,
      (d) => status(d) === 'REPLICATING',
      'replicating from b (resynced)',
    );
    await waitSameDigest([regions.b, replicaId], [regions.a, primaryId]);
  });
});
