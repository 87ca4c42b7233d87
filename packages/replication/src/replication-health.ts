/**
 * Whether a pair replicates, and how far behind its replica is, from what either side of the
 * pair can tell (docs/architecture.md, "Metrics"; docs/interface.md, `ReplicationStatus`). Pure: the
 * control plane's DescribeBroker and the metrics service compute the same answer from the same
 * figures, with the time passed in.
 */

/** Events wait and none was applied for this long: the pair is STALLED. */
export const stallDetectionMs = 10_000;

/** What a live replication shows instead of the registry's status; REPLICATING when healthy. */
export type ReplicationHealthStatus = 'REPLICATING' | 'PAUSED' | 'STALLED';

export const replicationHealthStatuses: readonly ReplicationHealthStatus[] = [
  'REPLICATING',
  'PAUSED',
  'STALLED',
];

export interface ReplicationHealth {
  readonly status: ReplicationHealthStatus;
  /** One sentence saying why, when PAUSED or STALLED; empty when REPLICATING. */
  readonly reason: string;
}

/**
 * How far the replica is behind the primary's log. From the replica's side: the replicator's
 * applied position and the oldest event it knows waiting; from the primary's side: its log head,
 * the replica's acknowledged position and the TC of the next event after it.
 */
export interface PairProgress {
  /** Events committed on the primary and not yet applied on the replica. */
  readonly waitingEvents: bigint;
  /** TC (epoch ms) of the oldest of them; 0 when none waits or it is not known. */
  readonly oldestWaitingCreatedAtMs: number;
  /** When the replica last applied an event (or the primary saw it acknowledged); 0: not known. */
  readonly lastProgressAtMs: number;
}

/**
 * What the process supervisor (the control plane's local provisioner) knows of the replicator
 * process: RESTARTING after it ended, CRASH_LOOP when it keeps ending soon after each start.
 */
export interface ReplicatorSupervision {
  readonly state: 'RUNNING' | 'RESTARTING' | 'CRASH_LOOP';
  /** Restarts tried since it last ran for a while. */
  readonly restarts: number;
  /** How it last ended, in one line (`exited with code 1 before it printed its endpoints: ...`). */
  readonly lastExit?: string;
  /** When it was last started (epoch ms), while it is thought to run. */
  readonly upSinceMs?: number;
}

/** What the replicator says of itself, or that it could not be asked. */
export type ReplicatorReport =
  | {
      readonly reachable: true;
      readonly state: string;
      readonly error: string;
      readonly supervision?: ReplicatorSupervision;
    }
  | {
      readonly reachable: false;
      readonly error: string;
      readonly supervision?: ReplicatorSupervision;
    };

/**
 * "How far behind": now − TC of the oldest event committed on the primary and not applied on
 * the replica, 0 when none waits. It grows every second while replication is stopped.
 */
export function replicationLagMs(progress: PairProgress, nowMs: number): number {
  if (progress.waitingEvents <= 0n || progress.oldestWaitingCreatedAtMs <= 0) return 0;
  return Math.max(0, nowMs - progress.oldestWaitingCreatedAtMs);
}

const seconds = (ms: number): string => `${Math.floor(ms / 1000)} s`;
const events = (count: bigint): string => `${count} event${count === 1n ? '' : 's'}`;

/**
 * The pair's health: PAUSED while an operator paused the replicator; STALLED while the
 * replicator is down, failed or cut off from the primary's NATS, or while events wait and the replica applied none of them for
 * {@link stallDetectionMs}; REPLICATING otherwise. Either side may be unknown (undefined): the
 * answer is then what the other side shows.
 */
export function replicationHealth(
  input: { readonly replicator?: ReplicatorReport; readonly progress?: PairProgress },
  nowMs: number,
): ReplicationHealth {
  const { replicator, progress } = input;
  const waiting =
    progress === undefined || progress.waitingEvents <= 0n
      ? ''
      : ` (${events(progress.waitingEvents)} waiting)`;
  if (replicator !== undefined) {
    const looping = crashLoop(replicator, nowMs);
    if (looping !== undefined) return { status: 'STALLED', reason: `${looping}${waiting}.` };
    if (!replicator.reachable && replicator.supervision?.state === 'RESTARTING') {
      const exit = replicator.supervision.lastExit;
      return {
        status: 'STALLED',
        reason: `The replicator is down and being restarted${exit === undefined ? '' : ` (${exit})`}, so nothing is applied${waiting}.`,
      };
    }
    if (!replicator.reachable) {
      return {
        status: 'STALLED',
        reason: `The replicator does not answer, so nothing is applied${waiting}: ${replicator.error}.`,
      };
    }
    if (replicator.state === 'FAILED') {
      return {
        status: 'STALLED',
        reason: `The replicator stopped on an error that needs an operator${waiting}: ${replicator.error}.`,
      };
    }
    // Cut off from the primary's log (its NATS restarting, the Region link down), the replicator
    // cannot even learn what waits, so the events-waiting rule below would see nothing: the
    // lost connection is itself the stall.
    if (replicator.state === 'CONNECTING') {
      return {
        status: 'STALLED',
        reason: `The replicator cannot reach the primary Region's log, so nothing is applied${waiting}: ${replicator.error || 'connecting'}.`,
      };
    }
    if (replicator.state === 'PAUSED') {
      return {
        status: 'PAUSED',
        reason: `An operator paused the replicator (ReplicatorService.Pause); Resume restarts it${waiting}.`,
      };
    }
  }
  if (progress !== undefined && progress.waitingEvents > 0n) {
    const since = Math.max(progress.oldestWaitingCreatedAtMs, progress.lastProgressAtMs);
    if (since > 0 && nowMs - since >= stallDetectionMs) {
      const cause =
        replicator?.reachable === true && replicator.error !== ''
          ? `; the replicator says: ${replicator.error}`
          : '';
      return {
        status: 'STALLED',
        reason: `${events(progress.waitingEvents)} wait and the replica applied none for ${seconds(nowMs - since)}${cause}.`,
      };
    }
  }
  return { status: 'REPLICATING', reason: '' };
}

/**
 * "The replicator is crash-looping: ..." while the supervisor calls it a crash loop and the
 * replicator does not answer, or answers but started again less than {@link stallDetectionMs}
 * ago (it has died soon after each start so far); undefined otherwise.
 */
function crashLoop(replicator: ReplicatorReport, nowMs: number): string | undefined {
  const supervision = replicator.supervision;
  if (supervision?.state !== 'CRASH_LOOP') return undefined;
  const upForMs =
    supervision.upSinceMs === undefined ? 0 : Math.max(0, nowMs - supervision.upSinceMs);
  if (replicator.reachable && upForMs >= stallDetectionMs) return undefined;
  const times = `${supervision.restarts} time${supervision.restarts === 1 ? '' : 's'}`;
  const exit = supervision.lastExit === undefined ? '' : `, last exit: ${supervision.lastExit}`;
  return `The replicator is crash-looping: restarted ${times}${exit}`;
}

/** The worse of two answers: STALLED, then PAUSED, then REPLICATING (the first on a tie). */
export function worseHealth(a: ReplicationHealth, b: ReplicationHealth): ReplicationHealth {
  const rank = (h: ReplicationHealth): number => replicationHealthStatuses.indexOf(h.status);
  return rank(b) > rank(a) ? b : a;
}
