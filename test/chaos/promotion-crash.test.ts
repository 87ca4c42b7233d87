import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@crdr/testing';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  createPair,
  sendAll,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegion,
  type PromotionRegions,
} from '../support/promotion-regions.js';

// Issue 4 item 6: the replica Region's control plane is killed (kill -9, by
// CONTROL_PLANE_FAILPOINT right after a step is recorded as started, or right after it acted
// and before its outcome is recorded) at every step of both sagas in turn; restarted without
// the failpoint, it resumes the saga, which completes with the promised outcome.
// One pair goes back and forth: a failover to region-b (region-a alive, with a divergent tail
// made by cutting the link first) killed at a failover step, then a switchover back to region-a
// killed at a switchover step. At the end, a failover interrupts a running switchover.

let regions: PromotionRegions;
let aId: string;
let bId: string;

const role = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationRole;
const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;

const failoverSteps = [
  'STOPPING_REPLICATOR',
  'READING_FAILOVER_POINT',
  'FENCING_OLD_PRIMARY',
  'PROMOTING_REPLICA:after',
  'RECORDING_DIVERGENT_TAIL',
  'STARTING_REVERSE_REPLICATION',
];
const switchoverSteps = [
  'DEMOTING_PRIMARY',
  'WAITING_FOR_REPLICA',
  'STOPPING_REPLICATOR',
  'PROMOTING_REPLICA',
  'DEMOTING_OLD_PRIMARY:after',
  'STARTING_REVERSE_REPLICATION',
];

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

/** Promote with the replica Region's control plane set to die at `failpoint`, then restart it. */
async function promoteThroughCrash(
  replicaRegion: PromotionRegion,
  brokerId: string,
  mode: 'SWITCHOVER' | 'FAILOVER',
  failpoint: string,
): Promise<void> {
  await replicaRegion.killControlPlane();
  await replicaRegion.start({ CONTROL_PLANE_FAILPOINT: failpoint });
  // The process may die before it answers: the saga is recorded either way.
  await replicaRegion.client.promote({ brokerId, mode }).catch(() => undefined);
  await replicaRegion.waitForCrash();
  await replicaRegion.start();
}

async function expectPair(
  primary: [PromotionRegion, string],
  replica: [PromotionRegion, string],
  what: string,
): Promise<DescribedBroker> {
  await primary[0].waitForBroker(
    primary[1],
    (d) =>
      role(d) === 'PRIMARY' &&
      status(d) === 'PROMOTED' &&
      d.dataReplicationMetadata?.dataReplicationCounterpart?.brokerId === replica[1],
    `${what}: PRIMARY and PROMOTED`,
  );
  const r = await replica[0].waitForBroker(
    replica[1],
    (d) =>
      role(d) === 'REPLICA' &&
      status(d) === 'REPLICATING' &&
      d.dataReplicationMetadata?.dataReplicationCounterpart?.brokerId === primary[1],
    `${what}: the replica replicating`,
  );
  await waitSameDigest(primary, replica);
  return r;
}

beforeAll(async () => {
  regions = await startPromotionRegions('promocrash');
  ({ primaryId: aId, replicaId: bId } = await createPair(regions, 'crash'));
  // The replica has applied the primary's initial snapshot (users included) before a failover.
  await waitSameDigest([regions.a, aId], [regions.b, bId]);
});

afterAll(async () => {
  await regions?.stop();
});

describe('promotion sagas survive a control-plane crash at every step', () => {
  for (const [round, failoverStep] of failoverSteps.entries()) {
    const switchoverStep = switchoverSteps[round]!;
    it(`failover killed at ${failoverStep}, then switchover back killed at ${switchoverStep}`, async () => {
      const a = await regions.a.describe(aId);
      // A divergent tail: events a commits while region-b cannot read its log.
      regions.linkToA.cut();
      await sendAll(stompEndpoints(a), '/queue/Crash', [`r${round}-t0`, `r${round}-t1`]);
      await promoteThroughCrash(regions.b, bId, 'FAILOVER', failoverStep);
      // The link heals only once the replica is promoted: its replicator is stopped and the
      // failover point read by then. Healed earlier, a replicator the resumed saga has not yet
      // stopped may read the tail, and the failover then rightly finds nothing divergent.
      await regions.b.waitForBroker(
        bId,
        (d) => role(d) === 'PRIMARY',
        'promoted by the failover, with the link still cut',
      );
      regions.linkToA.heal();
      await expectPair([regions.b, bId], [regions.a, aId], 'after the failover');
      const fenced = await regions.a.waitForBroker(
        aId,
        (d) => d.dataReplicationMetadata?.divergentTail?.state === 'PENDING',
        'a new divergent tail, PENDING',
        30_000,
      );
      const tail = fenced.dataReplicationMetadata?.divergentTail;
      expect(
        Number(tail?.eventCount ?? 0),
        'the divergent tail is recorded',
      ).toBeGreaterThanOrEqual(2);
      const action = round % 2 === 0 ? 'DISCARD' : 'REPUBLISH';
      const resolved = await regions.a.client.resolveDivergentTail({ brokerId: aId, action });
      expect(resolved.summary?.state).toBe(action === 'DISCARD' ? 'DISCARDED' : 'REPUBLISHED');
      expect(Number(resolved.republishedMessages)).toBe(action === 'DISCARD' ? 0 : 2);

      const b = await regions.b.describe(bId);
      await sendAll(stompEndpoints(b), '/queue/Crash', [`r${round}-s0`, `r${round}-s1`]);
      await promoteThroughCrash(regions.a, aId, 'SWITCHOVER', switchoverStep);
      await expectPair([regions.a, aId], [regions.b, bId], 'after the switchover');
    });
  }

  it('a failover interrupts a running switchover', async () => {
    // a is the primary: b's switchover pauses before waiting for the replica, a failover follows.
    await regions.b.killControlPlane();
    await regions.b.start({ CONTROL_PLANE_FAILPOINT: 'WAITING_FOR_REPLICA:pause-5000' });
    await regions.b.client.promote({ brokerId: bId, mode: 'SWITCHOVER' });
    await regions.b.waitForBroker(
      bId,
      (d) => d.dataReplicationMetadata?.promotion?.step === 'WAITING_FOR_REPLICA',
      'the switchover at WAITING_FOR_REPLICA',
    );
    expect((await regions.a.describe(aId)).dataReplicationMetadata?.replicationStatus).toBe(
      'DEMOTION_IN_PROGRESS',
    );
    await regions.b.client.promote({ brokerId: bId, mode: 'FAILOVER' });
    const promoted = await regions.b.waitForBroker(
      bId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'promoted by the failover',
    );
    expect(promoted.dataReplicationMetadata?.promotion ?? null).toBeNull();
    await expectPair([regions.b, bId], [regions.a, aId], 'after the interrupting failover');
    await regions.b.killControlPlane();
    await regions.b.start();
  });
});
