import { setTimeout as sleep } from 'node:timers/promises';
import type { BrokerId, Counterpart } from '../domain/broker.types.js';
import { handleWithRetry, type OperationsContext } from './context.js';
import { onAnsweringInstances, setRoleEverywhere } from './promotion-brokers.js';

/**
 * The old primary's side of "never two primaries" (docs/design/partitions.md). A paired primary
 * learns that its counterpart was promoted past it by asking the counterpart's Region, and then
 * asks that Region to fence it (OldPrimaryReturned), which stops it serving and records what it
 * took after the failover point as a divergent tail.
 *
 * It asks at three moments: when the primary starts again held (its Region's control plane
 * started, or the supervisor restarted its processes), and every reconcile interval for as long
 * as it is a paired primary, so that a partition that heals without any restart still ends with
 * one primary.
 */

/** What the counterpart's Region says about this primary. */
export type CounterpartVerdict = 'superseded' | 'current' | 'unknown';

export interface PrimaryGuardOptions {
  readonly region: string;
  /** Per peer call. */
  readonly deadlineMs: number;
  /** How long a held primary waits for its peer Region before the policy applies. */
  readonly peerWaitMs: number;
  /** After `peerWaitMs` without an answer: serve, or stay held until the peer answers. */
  readonly whenPeerSilent: 'serve' | 'stay-held';
  readonly reconcileIntervalMs: number;
}

export function createPrimaryGuard(context: OperationsContext, options: PrimaryGuardOptions) {
  const guarding = new Set<string>();

  /** Sleeps `ms`, cut short when the control plane stops (its drain waits for this loop). */
  async function pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!context.stopping() && Date.now() < until) {
      await sleep(Math.min(200, until - Date.now()));
    }
  }

  /** One question to the counterpart's Region; on `superseded` the fencing is under way. */
  async function check(brokerId: BrokerId): Promise<CounterpartVerdict> {
    const broker = await context.repository.load(brokerId);
    const counterpart = broker.counterpart;
    if (!broker.exists || broker.role !== 'PRIMARY' || counterpart === undefined) return 'current';
    let remote;
    try {
      const peer = context.peer(counterpart.region, 'data_replication_counterpart');
      remote = await peer.getPromotionState(
        { brokerId: counterpart.brokerId },
        { deadlineMs: options.deadlineMs },
      );
      if (remote.forceUnpairedBrokerIds.includes(broker.brokerId)) {
        await fenceForceUnpaired(brokerId, counterpart);
        return 'superseded';
      }
      const promoted =
        remote.dataReplicationRole === 'PRIMARY' &&
        remote.counterpart?.brokerId === broker.brokerId &&
        BigInt(remote.epoch) > broker.epoch;
      if (!promoted && !remote.awaitingOldPrimary) return 'current';
      // Idempotent on the peer: a switchover under way, or a fencing already running, ignores it.
      const { fencing } = await peer.oldPrimaryReturned(
        { brokerId: counterpart.brokerId, oldPrimary: { brokerId, region: options.region } },
        { deadlineMs: options.deadlineMs },
      );
      if (fencing) {
        context.log.warn(
          { brokerId, counterpart: counterpart.brokerId, epoch: remote.epoch },
          'the counterpart was promoted past this primary: its Region fences it',
        );
      }
      return 'superseded';
    } catch (error) {
      context.log.debug({ err: error, brokerId }, 'the counterpart Region does not answer');
      return 'unknown';
    }
  }

  /**
   * The counterpart was force-unpaired from this primary while they could not talk: it must not
   * serve again as if nothing happened. It is fenced (a replica at a higher epoch, so clients are
   * told where the survivor is) and shows FORCE_UNPAIRED; its store keeps what it took. The
   * operator deletes it, or force-unpairs it too to serve its own data alone.
   */
  async function fenceForceUnpaired(brokerId: BrokerId, survivor: Counterpart): Promise<void> {
    const broker = await context.repository.load(brokerId);
    const roles = await onAnsweringInstances(broker, (a) => a.getRole({}));
    const epoch =
      roles.reduce((m, r) => (BigInt(r.epoch) > m ? BigInt(r.epoch) : m), broker.epoch) + 1n;
    await setRoleEverywhere(broker, {
      role: 'REPLICA',
      epoch: epoch.toString(),
      primaryRegion: survivor.region,
      primaryBrokerId: survivor.brokerId,
    });
    await handleWithRetry(context, brokerId, {
      type: 'ChangeDataReplicationRole',
      role: 'REPLICA',
      counterpart: survivor,
      epoch,
      status: 'FORCE_UNPAIRED',
      at: context.now(),
    });
    context.log.warn(
      { brokerId, survivor },
      'the counterpart was force-unpaired from this broker while away: fenced (FORCE_UNPAIRED)',
    );
  }

  /** Lets a held primary serve (every instance, at the highest epoch any of them knows). */
  async function release(brokerId: BrokerId, why: string): Promise<void> {
    const broker = await context.repository.load(brokerId);
    if (broker.role !== 'PRIMARY') return;
    const roles = await onAnsweringInstances(broker, (a) => a.getRole({}));
    if (!roles.some((r) => r.held)) return;
    const epoch = roles.reduce((m, r) => (BigInt(r.epoch) > m ? BigInt(r.epoch) : m), broker.epoch);
    await setRoleEverywhere(broker, { role: 'PRIMARY', epoch: epoch.toString() });
    context.log.info({ brokerId }, `the primary is released: ${why}`);
  }

  /**
   * A primary that starts again held: released once the peer says it was not superseded, or by
   * the policy once the peer has been silent for `peerWaitMs`.
   */
  async function guard(brokerId: BrokerId): Promise<void> {
    if (guarding.has(brokerId)) return;
    guarding.add(brokerId);
    try {
      const since = Date.now();
      for (let attempt = 0; !context.stopping(); attempt += 1) {
        try {
          const verdict = await check(brokerId);
          if (verdict === 'superseded') return;
          if (verdict === 'current') {
            await release(brokerId, 'its counterpart was not promoted');
            return;
          }
          if (options.whenPeerSilent === 'serve' && Date.now() - since >= options.peerWaitMs) {
            context.log.warn(
              { brokerId, waitedMs: Date.now() - since },
              'the peer Region is silent: the primary serves (CONTROL_PLANE_PEER_SILENT=serve); ' +
                'it is fenced with its divergent tail if its counterpart turns out promoted',
            );
            await release(brokerId, 'the peer Region stayed silent');
            return;
          }
          context.log.warn({ brokerId }, 'cannot learn the counterpart state yet; held');
        } catch (error) {
          context.log.warn({ err: error, brokerId }, 'the held primary could not be checked');
        }
        await pause(Math.min(500 * 2 ** Math.min(attempt, 4), 5_000));
      }
    } finally {
      guarding.delete(brokerId);
    }
  }

  /** Every interval: each paired primary of this Region not being guarded already is checked. */
  async function reconcileForever(): Promise<void> {
    while (!context.stopping()) {
      await pause(options.reconcileIntervalMs);
      for (const broker of await context.repository.list().catch(() => [])) {
        if (context.stopping()) return;
        if (!broker.exists || broker.state !== 'RUNNING') continue;
        if (broker.role !== 'PRIMARY' || broker.counterpart === undefined) continue;
        if (guarding.has(broker.brokerId)) continue;
        await check(broker.brokerId).catch((error: unknown) =>
          context.log.warn({ err: error, brokerId: broker.brokerId }, 'reconcile check failed'),
        );
      }
    }
  }

  return { check, guard, reconcileForever };
}

export type PrimaryGuard = ReturnType<typeof createPrimaryGuard>;
