import { writeFileSync, renameSync } from 'node:fs';

/**
 * A latency breakdown of one request at a time, for `pnpm bench:breakdown`: off (and free)
 * unless CRDR_LATENCY_PROBE names a file. The hot path calls `mark(stage)`; a trace starts at
 * the first stage (`begin`) and ends at `end`, and the time between consecutive marks is added
 * to the series `previous→stage`. Correct only with one request in flight (the bench's shape):
 * marks are not tied to a request, so overlapping requests would interleave. `record` adds a
 * duration measured elsewhere (relay, replicator). SIGUSR2 writes the summary to the file and
 * starts over, so a bench can discard its warm-up; the file is written again on exit.
 *
 * Timestamps are `performance.now()`: the same monotonic clock as the event loop, no syscall.
 */
export interface LatencyProbe {
  readonly enabled: boolean;
  begin(stage: string): void;
  mark(stage: string): void;
  end(stage: string): void;
  record(series: string, ms: number): void;
  count(counter: string, n?: number): void;
}

export interface ProbeSummary {
  readonly dumps: number;
  readonly traces: number;
  readonly series: Record<string, { count: number; p50: number; mean: number; p99: number }>;
  readonly counters: Record<string, number>;
}

const disabled: LatencyProbe = {
  enabled: false,
  begin: () => undefined,
  mark: () => undefined,
  end: () => undefined,
  record: () => undefined,
  count: () => undefined,
};

function createProbe(file: string): LatencyProbe {
  let series = new Map<string, number[]>();
  let counters = new Map<string, number>();
  let traces = 0;
  let dumps = 0;
  let lastStage: string | undefined;
  let lastAt = 0;
  const add = (name: string, ms: number): void => {
    let values = series.get(name);
    if (values === undefined) series.set(name, (values = []));
    values.push(ms);
  };
  const mark = (stage: string): void => {
    const at = performance.now();
    if (lastStage !== undefined) add(`${lastStage}→${stage}`, at - lastAt);
    lastStage = stage;
    lastAt = at;
  };
  const dump = (): void => {
    const summary: ProbeSummary = {
      dumps: ++dumps,
      traces,
      series: Object.fromEntries(
        [...series].map(([name, values]) => {
          const sorted = Float64Array.from(values).sort();
          const at = (p: number): number =>
            sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
          const sum = values.reduce((a, b) => a + b, 0);
          return [
            name,
            { count: values.length, p50: at(0.5), mean: sum / values.length, p99: at(0.99) },
          ];
        }),
      ),
      counters: Object.fromEntries(counters),
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(summary));
    renameSync(`${file}.tmp`, file);
    series = new Map();
    counters = new Map();
    traces = 0;
    lastStage = undefined;
  };
  process.on('SIGUSR2', dump);
  process.on('exit', dump);
  return {
    enabled: true,
    begin(stage) {
      lastStage = undefined;
      mark(stage);
    },
    mark(stage) {
      if (lastStage !== undefined) mark(stage);
    },
    end(stage) {
      if (lastStage === undefined) return;
      mark(stage);
      traces++;
      lastStage = undefined;
    },
    record: add,
    count(counter, n = 1) {
      counters.set(counter, (counters.get(counter) ?? 0) + n);
    },
  };
}

const file = process.env['CRDR_LATENCY_PROBE'];
/** The process's probe: a no-op unless CRDR_LATENCY_PROBE is set. */
export const latencyProbe: LatencyProbe =
  file === undefined || file === '' ? disabled : createProbe(file);
