import type { TwoRegions } from './two-regions.js';

export interface LagFigures {
  readonly samples: number;
  /** ReplicationLag as docs/architecture.md defines it: TP − TC of the last applied event, ms. */
  readonly replicationLagMs: Percentiles;
  /** The primary's last written sequence minus the replica's applied one, in events. */
  readonly eventsBehind: Percentiles;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LagSampler {
  stop(): Promise<LagFigures>;
}

/**
 * Samples the replication lag every `everyMs` while a load runs. Samples taken while no
 * replicator answers (it is being restarted) are skipped.
 */
export function sampleLag(regions: TwoRegions, everyMs = 250): LagSampler {
  const lagMs: number[] = [];
  const behind: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const [primary, status] = await Promise.all([
          regions.regionA.admin.getReplicationStatus({}, { deadlineMs: 2_000 }),
          regions.replicator.client.getStatus({}, { deadlineMs: 2_000 }),
        ]);
        const pending = BigInt(primary.lastSequence) - BigInt(status.appliedSequence);
        behind.push(Number(pending));
        const tc = Number(status.lastCreatedAtMs);
        const tp = Number(status.lastAppliedAtMs);
        lagMs.push(pending > 0n && tc > 0 ? tp - tc : 0);
      } catch {
        // No replicator right now, or a call timed out under load: no sample.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return {
        samples: lagMs.length,
        replicationLagMs: percentiles(lagMs),
        eventsBehind: percentiles(behind),
      };
    },
  };
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
