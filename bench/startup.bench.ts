/**
 * `pnpm bench:startup [--runs N]`
 *
 * How long a broker and a replicator take from spawn to serving (the ENDPOINTS line, printed
 * once they listen), run as built JavaScript (services/<name>/dist/main.js, what the stack and
 * the control plane's provisioner start) and, for comparison, through the tsx loader; and what
 * an mqctl control-plane call (`list-brokers`, the bundled packages/mqctl/dist/mqctl.js) costs.
 * Beside wall-clock time it prints CPU time (utime+stime from /proc), which holds on a loaded
 * machine. The median of N runs. Prints figures; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '@crdr/store';
import { repoRoot, startNatsServer, startServiceProcess } from '@crdr/testing';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' } },
  strict: true,
});
const runs = Math.max(1, Number(values.runs));
const pgBase = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ticksToMs = 10; // USER_HZ is 100 on Linux

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * ticksToMs;
}

/** CPU of this process's waited-for children so far (cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * ticksToMs;
}

async function timeStart(
  entry: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; cpu: number }> {
  const t0 = performance.now();
  const service = await startServiceProcess({ entry, args, env: { LOG_LEVEL: 'warn', ...env } });
  const ms = performance.now() - t0;
  const cpu = cpuMs(service.pid);
  await service.kill('SIGTERM');
  return { ms, cpu };
}

async function main(): Promise<void> {
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  const db = pgBase.replace(/\/[^/]*$/, `/bench_startup_${randomBytes(4).toString('hex')}`);
  const replicaDb = pgBase.replace(
    /\/[^/]*$/,
    `/bench_startup_r_${randomBytes(4).toString('hex')}`,
  );
  await ensureDatabase(db);
  await ensureDatabase(replicaDb);
  const nats = await startNatsServer({ serverName: 'bench-startup' });
  try {
    const brokerArgs = ['--stomp-port', '0', '--ws-port', '0', '--grpc-port', '0', '--db-url', db];
    const replicatorEnv = {
      REPLICATOR_PRIMARY_BROKER_ID: 'startup-primary',
      REPLICATOR_REPLICA_BROKER_ID: 'startup-replica',
      REPLICATOR_DB_URL: replicaDb,
      REPLICATOR_NATS_URL: nats.url,
    };
    // The first start of each also migrates its database: not counted.
    await timeStart('services/broker/src/main.ts', brokerArgs, {});
    await timeStart('services/replicator/src/main.ts', [], replicatorEnv);
    for (const [label, broker, replicator] of [
      ['built JavaScript', 'services/broker/src/main.ts', 'services/replicator/src/main.ts'],
      [
        'tsx loader',
        join(repoRoot, 'services/broker/src/main.ts'),
        join(repoRoot, 'services/replicator/src/main.ts'),
      ],
    ] as const) {
      const b: Array<{ ms: number; cpu: number }> = [];
      const r: Array<{ ms: number; cpu: number }> = [];
      for (let i = 0; i < runs; i++) {
        b.push(await timeStart(broker, brokerArgs, {}));
        r.push(await timeStart(replicator, [], replicatorEnv));
      }
      const line = (name: string, xs: Array<{ ms: number; cpu: number }>): string =>
        `${name} serves ${fmt(median(xs.map((x) => x.ms)))} ms after start (CPU ${fmt(median(xs.map((x) => x.cpu)))} ms)`;
      console.log(`${label}: ${line('broker', b)}; ${line('replicator', r)}`);
    }
    await mqctlCall();
  } finally {
    await nats.stop();
    await dropDatabase(db);
    await dropDatabase(replicaDb);
  }
}

/** An mqctl call to a control plane of its own (the bundled mqctl, as `npm i -g` installs it). */
async function mqctlCall(): Promise<void> {
  const bundle = join(repoRoot, 'packages/mqctl/dist/mqctl.js');
  if (!existsSync(bundle)) {
    execFileSync(process.execPath, [join(repoRoot, 'packages/mqctl/scripts/build.mjs')], {
      stdio: 'ignore',
    });
  }
  const cpDb = pgBase.replace(/\/[^/]*$/, `/bench_startup_cp_${randomBytes(4).toString('hex')}`);
  await ensureDatabase(cpDb);
  const stateDir = await mkdtemp(join(tmpdir(), 'crdr-bench-startup-'));
  const controlPlane = await startServiceProcess({
    entry: 'services/control-plane/src/main.ts',
    env: {
      CONTROL_PLANE_REGION: 'region-a',
      CONTROL_PLANE_GRPC_PORT: '0',
      CONTROL_PLANE_DB_URL: cpDb,
      CONTROL_PLANE_PROVISIONER: 'local',
      CONTROL_PLANE_STATE_DIR: stateDir,
      CONTROL_PLANE_BROKER_PG_URL: pgBase,
      LOG_LEVEL: 'warn',
    },
  });
  try {
    const endpoint = controlPlane.endpoints['grpc']!.replace('grpc://', '');
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const cpu0 = childrenCpuMs();
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [bundle, '--endpoint-url', endpoint, '--output', 'json', 'list-brokers'],
          { stdio: 'ignore' },
        );
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`mqctl exited with ${code}`)),
        );
      });
      if (i === 0) continue; // the first also warms the control plane's connection
      wall.push(performance.now() - t0);
      cpu.push(childrenCpuMs() - cpu0);
    }
    console.log(
      `mqctl list-brokers (bundled): answers ${fmt(median(wall))} ms after start (CPU ${fmt(median(cpu))} ms)`,
    );
  } finally {
    await controlPlane.kill('SIGTERM');
    await dropDatabase(cpDb);
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
