/**
 * `pnpm bench [NAME] [ARGS...]`: runs one benchmark (or lists them). Each prints its figures
 * and asserts nothing; the figures quoted in the README and closing notes come from these.
 */
import { spawnSync } from 'node:child_process';

const benchmarks: Record<string, { readonly script: string; readonly what: string }> = {
  broker: {
    script: 'services/broker/bench/broker.bench.ts',
    what: 'produce/consume rate, receipt latency and RSS of one broker (--backlog N for a deep queue)',
  },
  replication: {
    script: 'bench/replication.bench.ts',
    what: 'producer figures with replication on, ReplicationLag p50/p99 at a steady rate, highest bounded rate',
  },
};

const [name, ...args] = process.argv.slice(2).filter((a) => a !== '--');
const chosen = name === undefined ? undefined : benchmarks[name];
if (chosen === undefined) {
  if (name !== undefined) console.error(`unknown benchmark "${name}"`);
  console.log('usage: pnpm bench NAME [ARGS...]\n');
  for (const [key, b] of Object.entries(benchmarks)) console.log(`  ${key.padEnd(12)} ${b.what}`);
  process.exit(name === undefined ? 0 : 2);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', chosen.script, ...args], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
