import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { waitFor } from '@crdr/testing';
import {
  PROCESS_MS,
  alive,
  recordedPid,
  type FaultStack,
  type FaultStackOptions,
  type Pair,
  type Region,
} from './fault-stack.js';
import { stackCli } from './stack-cli.js';

// The faults of issue 11 on the stack users run, and an observer of what the pair shows while
// they last: the status DescribeBroker gives on both sides and the lag the metrics services
// publish. The chaos tests assert on what it saw; `pnpm bench:faults` prints how fast it changed.

/** One look at the pair: each side's DescribeBroker and the Regions' lag series. */
export interface PairSample {
  readonly at: number;
  /** The status DescribeBroker shows; `UNREACHABLE` when the Region did not answer. */
  readonly primary: string;
  readonly primaryReason: string;
  readonly replica: string;
  readonly replicaReason: string;
  /** The replica's ReplicationLag, seconds; undefined when its metrics service did not say. */
  readonly lagS: number | undefined;
  /** The primary's TotalReplicationLag, seconds. */
  readonly totalLagS: number | undefined;
}

export interface PairObserver {
  readonly samples: readonly PairSample[];
  stop(): Promise<void>;
}

const unreachable = 'UNREACHABLE';

async function latestGauge(
  metricsHttp: string,
  family: string,
  brokerId: string,
): Promise<number | undefined> {
  try {
    const response = await fetch(`${metricsHttp}/metrics`, { signal: AbortSignal.timeout(3_000) });
    const found = parsePrometheusTextFormat(await response.text()).find((f) => f.name === family);
    const sample = found?.metrics.find((m) => m.labels?.['broker'] === brokerId);
    return sample === undefined ? undefined : Number(sample.value);
  } catch {
    return undefined;
  }
}

export function observePair(stack: FaultStack, pair: Pair, everyMs = 500): PairObserver {
  const samples: PairSample[] = [];
  let stopped = false;
  const side = async (region: Region, brokerId: string) => {
    try {
      const b = await stack.describe(region, brokerId);
      return {
        status: b.dataReplicationMetadata?.replicationStatus ?? '',
        reason: b.dataReplicationMetadata?.replicationStatusReason ?? '',
      };
    } catch {
      stack.resetClient(region);
      return { status: unreachable, reason: '' };
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const [p, r, lagS, totalLagS] = await Promise.all([
        side('region-a', pair.primaryId),
        side('region-b', pair.replicaId),
        latestGauge(
          stack.endpoints['region-b'].metricsHttp,
          'crdr_replication_lag_seconds',
          pair.replicaId,
        ),
        latestGauge(
          stack.endpoints['region-a'].metricsHttp,
          'crdr_total_replication_lag_seconds',
          pair.primaryId,
        ),
      ]);
      samples.push({
        at,
        primary: p.status,
        primaryReason: p.reason,
        replica: r.status,
        replicaReason: r.reason,
        lagS,
        totalLagS,
      });
      await sleep(Math.max(0, everyMs - (Date.now() - at)));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A status a Region showed (not its absence) that is not REPLICATING. */
const shownOff = (status: string) => status !== unreachable && status !== 'REPLICATING';
const lagOf = (s: PairSample) => Math.max(s.lagS ?? 0, s.totalLagS ?? 0);

/** Both sides REPLICATING and the replica caught up (its lag below a second under load). */
export const caughtUp = (s: PairSample) =>
  s.primary === 'REPLICATING' &&
  s.replica === 'REPLICATING' &&
  s.lagS !== undefined &&
  s.lagS < 1 &&
  (s.totalLagS ?? 0) < 1;

export interface Fault {
  readonly name: string;
  /** What the stack must have for this fault. */
  readonly needs: FaultStackOptions;
  /**
   * Injects the fault and resolves once it is over (healed, restarted, back up); calls
   * `inPlace` the moment the fault takes effect (the process dead, the link cut), which is
   * what detection is measured from.
   */
  inject(stack: FaultStack, pair: Pair, inPlace: () => void): Promise<void>;
  /**
   * False when the primary commits nothing while the fault lasts (its own store is down), so
   * no event can wait and the lag rightly need not grow.
   */
  readonly primaryCommits?: boolean;
}

export interface FaultOutcome {
  readonly fault: string;
  readonly startedAt: number;
  /** When the fault took effect (a CLI or a signal takes a moment after `startedAt`). */
  readonly inPlaceAt: number;
  readonly endedAt: number;
  /** First look at which either side showed a status other than REPLICATING. */
  readonly detected: PairSample | undefined;
  /** First look at which either side showed STALLED. */
  readonly stalled: PairSample | undefined;
  /** The largest lag (ReplicationLag or TotalReplicationLag) seen while it lasted, seconds. */
  readonly maxLagS: number;
  /** The lag at the first look after the fault started, seconds. */
  readonly firstLagS: number;
  /** First look after the fault ended at which the pair was caught up again. */
  readonly recovered: PairSample;
}

/**
 * Injects `fault`, then waits, with no operator action, until the pair is caught up again, and
 * tells what the observer saw meanwhile.
 */
export async function runFault(
  stack: FaultStack,
  pair: Pair,
  fault: Fault,
  observer: PairObserver,
): Promise<FaultOutcome> {
  const startedAt = Date.now();
  let inPlaceAt = 0;
  await fault.inject(stack, pair, () => (inPlaceAt = Date.now()));
  const endedAt = Date.now();
  let recovered: PairSample | undefined;
  await waitFor(
    () => {
      recovered = observer.samples.find((s) => s.at >= endedAt && caughtUp(s));
      return recovered !== undefined;
    },
    `${fault.name}: both sides REPLICATING and caught up again; last look: ${JSON.stringify(observer.samples.at(-1))}`,
    PROCESS_MS,
    250,
  );
  const during = observer.samples.filter((s) => s.at >= startedAt && s.at <= recovered!.at);
  return {
    fault: fault.name,
    startedAt,
    inPlaceAt: inPlaceAt || startedAt,
    endedAt,
    detected: during.find((s) => shownOff(s.primary) || shownOff(s.replica)),
    stalled: during.find((s) => s.primary === 'STALLED' || s.replica === 'STALLED'),
    maxLagS: Math.max(0, ...during.map(lagOf)),
    firstLagS: during.length > 0 ? lagOf(during[0]!) : 0,
    recovered: recovered!,
  };
}

export const stalledReason = (s: PairSample | undefined): string =>
  s === undefined ? '' : s.replica === 'STALLED' ? s.replicaReason : s.primaryReason;

async function killAndWait(pid: number, what: string, signal: NodeJS.Signals = 'SIGKILL') {
  process.kill(pid, signal);
  await waitFor(() => !alive(pid), what, 30_000, 100);
}

async function stackUp(stack: FaultStack, region: Region): Promise<void> {
  const up = await stackCli(['up', '--region', region], stack.env);
  if (up.code !== 0) throw new Error(`stack up --region ${region} failed: ${up.stderr}`);
}

/** How long a restarted service stays away: a restart of a real server is not instant. */
const restartDownMs = 5_000;

export const replicatorKill: Fault = {
  name: 'replicator kill -9',
  needs: {},
  async inject(stack, pair, inPlace) {
    const pid = recordedPid(stack, 'region-b', 'replicator', pair.replicaId);
    await killAndWait(pid, 'the replicator to die');
    inPlace();
  },
};

export const natsRestart: Fault = {
  name: "primary Region's NATS restart",
  needs: {},
  async inject(stack, _pair, inPlace) {
    const file = join(stack.env['STACK_DIR']!, 'region-a', 'nats.pid.json');
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    await killAndWait(pid, "region-a's nats-server to stop", 'SIGTERM');
    inPlace();
    await sleep(restartDownMs);
    await stackUp(stack, 'region-a');
  },
};

export const postgresRestart: Fault = {
  name: "primary Region's Postgres restart",
  needs: { ownPostgres: true },
  primaryCommits: false,
  async inject(stack, _pair, inPlace) {
    // A fast shutdown cuts every session at once, before pg_ctl returns.
    inPlace();
    await stack.postgres!.stop();
    await sleep(restartDownMs);
    await stack.postgres!.start();
  },
};

export const linkCut: Fault = {
  name: '10 s Region link cut',
  needs: { linkProxy: true },
  async inject(stack, _pair, inPlace) {
    stack.link!.cut();
    inPlace();
    await sleep(10_000);
    stack.link!.heal();
  },
};

export const regionDownUp: Fault = {
  name: 'replica Region down and up',
  needs: {},
  async inject(stack, _pair, inPlace) {
    const down = await stackCli(['down', '--region', 'region-b'], stack.env);
    if (down.code !== 0) throw new Error(`stack down --region region-b failed: ${down.stderr}`);
    inPlace();
    stack.resetClient('region-b');
    await sleep(restartDownMs);
    await stackUp(stack, 'region-b');
  },
};

export const activeInstanceKill: Fault = {
  name: 'active instance kill -9',
  needs: {},
  async inject(stack, pair, inPlace) {
    const before = await stack.describe('region-a', pair.primaryId);
    const index = before.brokerInstances.findIndex((i) => i.instanceState === 'ACTIVE');
    if (index < 0) throw new Error(`no ACTIVE instance: ${JSON.stringify(before.brokerInstances)}`);
    const pid = recordedPid(stack, 'region-a', 'broker', `${pair.primaryId}-${index + 1}`);
    await killAndWait(pid, 'the active instance to die');
    inPlace();
  },
};

export const allFaults: readonly Fault[] = [
  replicatorKill,
  natsRestart,
  postgresRestart,
  linkCut,
  regionDownUp,
  activeInstanceKill,
];
