/**
 * `pnpm bench:peers [--standalone-only]` (N=20000 by default: messages per shape, as the yardstick)
 *
 * Runs the shared yardstick beside this repository (`../shared/bench/peers.sh`, then
 * `replicated.sh`; its README says how to start the peers) from the repository root and prints
 * ours against ActiveMQ and RabbitMQ as ratios, all from this one run: a throughput figure of a
 * shared, noisy machine means something only next to the peers' of the same run. Exits non-zero,
 * saying so, when the yardstick is not there. Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@crdr/testing';

const { values } = parseArgs({
  options: { 'standalone-only': { type: 'boolean', default: false } },
  strict: true,
});
// BENCH_YARDSTICK_DIR names it elsewhere (a checkout in a worktree, say).
const yardstick = resolve(repoRoot, process.env['BENCH_YARDSTICK_DIR'] ?? '../shared/bench');

interface Figures {
  produce_msgs_per_s?: number;
  receipt_p50_ms?: number;
  receipt_p99_ms?: number;
  consume_msgs_per_s?: number;
}

/** Runs a yardstick script from the repository root, echoing and collecting its lines. */
function run(script: string): Promise<Map<string, Figures>> {
  const results = new Map<string, Figures>();
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [join(yardstick, script)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        console.log(`  ${line}`);
        // "activemq-5.17 4 64: {json}", "ours 1 1: {json}", "ours-replicated 4 64: {json}"
        const match = /^(\S+) (\d+ \d+): (\{.*\})\s*$/.exec(line);
        if (match === null) continue;
        try {
          results.set(`${match[1]} ${match[2]}`, JSON.parse(match[3]!) as Figures);
        } catch {
          // not a figures line
        }
      }
    });
    child.once('error', reject);
    child.once('exit', () => resolveRun(results));
  });
}

const fmt = (n: number | undefined, d = 0): string =>
  n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ratio = (ours: number | undefined, peer: number | undefined): string =>
  ours === undefined || peer === undefined || peer === 0 ? '—' : `${fmt(ours / peer, 2)}×`;

async function main(): Promise<void> {
  const scripts = ['peers.sh', 'replicated.sh'];
  const missing = scripts.filter((s) => !existsSync(join(yardstick, s)));
  if (missing.length > 0) {
    console.error(
      `bench:peers: the shared yardstick is missing: ${missing.map((s) => join(yardstick, s)).join(', ')} not found (it is expected beside this repository, in ../shared/bench/)`,
    );
    process.exit(2);
  }
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  console.log(`$ ${join(yardstick, 'peers.sh')}`);
  const results = await run('peers.sh');
  if (!values['standalone-only']) {
    console.log(`$ ${join(yardstick, 'replicated.sh')}`);
    for (const [key, figures] of await run('replicated.sh')) results.set(key, figures);
  }
  const peers = ['activemq-5.17', 'rabbitmq-3.10'].filter((p) =>
    [...results.keys()].some((k) => k.startsWith(`${p} `)),
  );
  if (peers.length === 0)
    console.log('no peer answered (start them with ../shared/bench/start-peers.sh): no ratios');
  console.log('\nratios, ours / peer, from this run:');
  for (const ours of ['ours', 'ours-replicated']) {
    for (const shape of ['4 64', '1 1']) {
      const o = results.get(`${ours} ${shape}`);
      if (o === undefined) continue;
      const parts = peers.map((peer) => {
        const p = results.get(`${peer} ${shape}`);
        return `${peer}: produce ${ratio(o.produce_msgs_per_s, p?.produce_msgs_per_s)}, consume ${ratio(o.consume_msgs_per_s, p?.consume_msgs_per_s)}`;
      });
      console.log(
        `  ${ours} ${shape.replace(' ', '×')}: produce ${fmt(o.produce_msgs_per_s)} msg/s (receipt p50 ${fmt(o.receipt_p50_ms, 2)} ms), consume ${fmt(o.consume_msgs_per_s)} msg/s${parts.length > 0 ? `; ${parts.join('; ')}` : ''}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
