import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGrpcHealth } from '@crdr/proto';
import { connectStomp, isStompServerError } from '@crdr/stomp';
import {
  createTestDatabase,
  repoRoot,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
  type TestDatabase,
} from '@crdr/testing';
import {
  createLocalProvisioner,
  isProcessStartError,
  type SupervisorEvent,
} from './local-provisioner.js';
import type { BrokerInstanceInfo, BrokerProcessSpec, Provisioner } from './provisioner.js';

// The local provisioner with real processes: brokers and a replicator started through tsx,
// real Postgres and NATS. Every process any test started is killed in afterAll.

const brokerEnv = { BROKER_USERS: 'admin:secret', BROKER_SCRYPT_COST: '1024', LOG_LEVEL: 'warn' };

let stateDir: string;
const databases: TestDatabase[] = [];
const provisioners: Provisioner[] = [];
const pids = new Set<number>();
let nats: NatsServerHandle | undefined;

function provisioner(): Provisioner {
  const created = createLocalProvisioner({ stateDir });
  provisioners.push(created);
  return created;
}

async function database(): Promise<TestDatabase> {
  const created = await createTestDatabase('cp_local');
  databases.push(created);
  return created;
}

function spec(
  brokerId: string,
  dbUrl: string,
  deploymentMode: BrokerProcessSpec['deploymentMode'],
): BrokerProcessSpec {
  return {
    brokerId,
    brokerName: brokerId,
    region: 'region-a',
    deploymentMode,
    hostInstanceType: 'mq.m5.large',
    dbUrl,
    env: brokerEnv,
  };
}

function track<T extends { readonly pid?: number }>(infos: readonly T[]): readonly T[] {
  for (const info of infos) if (info.pid !== undefined) pids.add(info.pid);
  return infos;
}

/** Runs and is not a zombie (a zombie still answers kill 0 until its parent reaps it). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
}

function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** A client when the instance serves; the ERROR's message when it refuses (the standby). */
async function stompConnect(instance: BrokerInstanceInfo) {
  try {
    const client = await connectStomp({
      ...splitHostPort(instance.stomp),
      login: 'admin',
      passcode: 'secret',
      connectTimeoutMs: 5000,
    });
    await client.disconnect();
    return 'connected';
  } catch (error) {
    if (isStompServerError(error)) return `refused: ${error.headers['message'] ?? ''}`;
    // A standby does not listen (issue 13): the connection itself is refused.
    if (/ECONNREFUSED/.test(String((error as Error).cause ?? error))) return 'not listening';
    throw error;
  }
}

async function recordFiles(): Promise<string[]> {
  return existsSync(join(stateDir, 'processes')) ? await readdir(join(stateDir, 'processes')) : [];
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'crdr-local-provisioner-'));
});

afterAll(async () => {
  await Promise.allSettled(provisioners.map((p) => p.close()));
  // Every pid a test saw, and every pid still recorded: SIGKILL their process groups.
  for (const name of await recordFiles().catch(() => [])) {
    try {
      const record = JSON.parse(await readFile(join(stateDir, 'processes', name), 'utf8')) as {
        pid: number;
      };
      pids.add(record.pid);
    } catch {
      // A half-written temporary file.
    }
  }
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  await nats?.cleanup();
  await Promise.allSettled(databases.map((d) => d.drop()));
  await rm(stateDir, { recursive: true, force: true });
});

describe('local provisioner', () => {
  it('starts a SINGLE_INSTANCE broker that serves STOMP, adopts it again, and stops it', async () => {
    const db = await database();
    const p = provisioner();
    const instances = track(await p.startBroker(spec('lp-single', db.url, 'SINGLE_INSTANCE')));
    expect(instances).toHaveLength(1);
    const [instance] = instances;
    expect(instance!.instanceId).toBe('lp-single-1');
    expect(instance!.stomp).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(instance!.ws).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(instance!.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(running(instance!.pid!)).toBe(true);
    expect(await stompConnect(instance!)).toBe('connected');
    expect(existsSync(join(stateDir, 'logs', 'lp-single-1.log'))).toBe(true);
    expect(await recordFiles()).toContain('broker.lp-single-1.json');

    // Starting what runs is a no-op that returns the same process.
    const again = await p.startBroker(spec('lp-single', db.url, 'SINGLE_INSTANCE'));
    expect(again).toEqual(instances);
    expect(await p.brokerInstances('lp-single')).toEqual(instances);

    await p.stopBroker('lp-single', { graceful: true });
    expect(running(instance!.pid!)).toBe(false);
    expect(await p.brokerInstances('lp-single')).toEqual([]);
    expect(await recordFiles()).not.toContain('broker.lp-single-1.json');
    // Stopping what is gone is a no-op.
    await p.stopBroker('lp-single');
  });

  it('runs ACTIVE_STANDBY_MULTI_AZ as two instances, re-adopted by a new provisioner, restarting only the dead one', async () => {
    const db = await database();
    const first = provisioner();
    const brokerSpec = spec('lp-multi', db.url, 'ACTIVE_STANDBY_MULTI_AZ');
    const instances = track(await first.startBroker(brokerSpec));
    expect(instances.map((i) => i.instanceId)).toEqual(['lp-multi-1', 'lp-multi-2']);
    const [one, two] = instances as [BrokerInstanceInfo, BrokerInstanceInfo];
    expect(one.pid).not.toBe(two.pid);
    expect(one.stomp).not.toBe(two.stomp);

    // Exactly one holds the lease and serves; the standby does not even listen (issue 13).
    let outcomes: string[] = [];
    await waitFor(async () => {
      outcomes = await Promise.all(instances.map(stompConnect));
      return outcomes.filter((o) => o === 'connected').length === 1;
    }, 'exactly one serving instance');
    expect(outcomes.find((o) => o !== 'connected')).toBe('not listening');

    // A control-plane restart: a new provisioner over the same stateDir adopts both.
    await first.close();
    const second = provisioner();
    expect(await second.brokerInstances('lp-multi')).toEqual(instances);
    expect(await second.startBroker(brokerSpec)).toEqual(instances);
    expect((await recordFiles()).filter((f) => f.startsWith('broker.lp-multi-'))).toHaveLength(2);

    // kill -9 of one instance: startBroker restarts that one only.
    process.kill(one.pid!, 'SIGKILL');
    await waitFor(() => !running(one.pid!), 'instance 1 to die');
    expect((await second.brokerInstances('lp-multi')).map((i) => i.instanceId)).toEqual([
      'lp-multi-2',
    ]);
    const restarted = track(await second.startBroker(brokerSpec));
    expect(restarted.map((i) => i.instanceId)).toEqual(['lp-multi-1', 'lp-multi-2']);
    expect(restarted[0]!.pid).not.toBe(one.pid);
    expect(running(restarted[0]!.pid!)).toBe(true);
    expect(restarted[1]).toEqual(two);

    await second.stopBroker('lp-multi', { graceful: false });
    expect(restarted.some((i) => running(i.pid!))).toBe(false);
    expect(await second.brokerInstances('lp-multi')).toEqual([]);
  });

  it('keeps brokers running when the control plane is killed with kill -9, and a new one adopts them', async () => {
    const db = await database();
    const entry = fileURLToPath(new URL('./local-provisioner.ts', import.meta.url));
    const script = `
      const { createLocalProvisioner } = await import(${JSON.stringify(entry)});
      const p = createLocalProvisioner({ stateDir: ${JSON.stringify(stateDir)} });
      const instances = await p.startBroker(${JSON.stringify(spec('lp-orphan', db.url, 'SINGLE_INSTANCE'))});
      process.stdout.write('STARTED ' + JSON.stringify(instances) + '\\n');
      setInterval(() => undefined, 1000);
    `;
    const controlPlane = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    pids.add(controlPlane.pid!);
    let output = '';
    controlPlane.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    controlPlane.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      () => output.includes('STARTED '),
      `the control plane's start: ${output}`,
      60_000,
    );
    const started = track(JSON.parse(/^STARTED (.+)$/m.exec(output)![1]!) as BrokerInstanceInfo[]);
    const exited = new Promise((resolve) => controlPlane.once('exit', resolve));
    controlPlane.kill('SIGKILL');
    await exited;

    expect(running(started[0]!.pid!)).toBe(true);
    const p = provisioner();
    expect(await p.startBroker(spec('lp-orphan', db.url, 'SINGLE_INSTANCE'))).toEqual(started);
    expect(await stompConnect(started[0]!)).toBe('connected');
    await p.stopBroker('lp-orphan');
    expect(running(started[0]!.pid!)).toBe(false);
  });

  it('adopts an instance whose start a closed provisioner left waiting for its endpoints', async () => {
    const db = await database();
    const first = provisioner();
    const brokerSpec = spec('lp-handover', db.url, 'SINGLE_INSTANCE');
    const starting = first.startBroker(brokerSpec);
    starting.catch(() => undefined);
    await waitFor(
      async () => (await recordFiles()).includes('broker.lp-handover-1.json'),
      'the record of the starting instance',
    );
    await first.close();
    await expect(starting).rejects.toThrow(/closed/);
    const record = JSON.parse(
      await readFile(join(stateDir, 'processes', 'broker.lp-handover-1.json'), 'utf8'),
    ) as { pid: number };
    pids.add(record.pid);

    const second = provisioner();
    const adopted = track(await second.startBroker(brokerSpec));
    expect(adopted.map((i) => i.pid)).toEqual([record.pid]);
    expect(await stompConnect(adopted[0]!)).toBe('connected');
    await second.stopBroker('lp-handover', { graceful: false });
    expect(running(record.pid)).toBe(false);
  });

  it('does not take a reused pid for its instance: it starts a new one and leaves that process alone', async () => {
    const db = await database();
    const stranger = spawn('sleep', ['120'], { stdio: 'ignore' });
    pids.add(stranger.pid!);
    const entry = join(repoRoot, 'services/broker/src/main.ts');
    await mkdir(join(stateDir, 'processes'), { recursive: true });
    await writeFile(
      join(stateDir, 'processes', 'broker.lp-reused-1.json'),
      JSON.stringify({
        kind: 'broker',
        id: 'lp-reused-1',
        brokerId: 'lp-reused',
        pid: stranger.pid,
        token: 'a-token-the-stranger-does-not-have',
        command: [process.execPath, '--import', 'tsx', entry],
        cwd: repoRoot,
        logFile: join(stateDir, 'logs', 'lp-reused-1.log'),
        logOffset: 0,
        startedAt: new Date().toISOString(),
        endpoints: {
          stomp: 'stomp://127.0.0.1:1',
          ws: 'ws://127.0.0.1:1',
          grpc: 'grpc://127.0.0.1:1',
        },
      }),
    );
    const p = provisioner();
    expect(await p.brokerInstances('lp-reused')).toEqual([]);
    const [started] = track(await p.startBroker(spec('lp-reused', db.url, 'SINGLE_INSTANCE')));
    expect(started!.pid).not.toBe(stranger.pid);
    expect(await stompConnect(started!)).toBe('connected');
    await p.stopBroker('lp-reused', { graceful: false });
    expect(running(started!.pid!)).toBe(false);
    expect(running(stranger.pid!)).toBe(true);
    stranger.kill('SIGKILL');
  });

  it('supervises: restarts an instance killed while it runs, not one stopped through it', async () => {
    const db = await database();
    const events: SupervisorEvent[] = [];
    const p = createLocalProvisioner({
      stateDir,
      supervise: { intervalMs: 200, backoffMinMs: 200, onEvent: (e) => events.push(e) },
    });
    provisioners.push(p);
    const [first] = track(await p.startBroker(spec('lp-supervised', db.url, 'SINGLE_INSTANCE')));
    process.kill(first!.pid!, 'SIGKILL');
    await waitFor(
      () => events.some((e) => e.type === 'restarted' && e.key === 'broker:lp-supervised'),
      'the supervisor to restart the instance',
      60_000,
    );
    const [restarted] = track(await p.brokerInstances('lp-supervised'));
    expect(restarted!.pid).not.toBe(first!.pid);
    // The same endpoints after the restart (issue 13: they are kept for the broker's life).
    expect({ ...restarted, pid: 0 }).toEqual({ ...first, pid: 0 });
    expect(running(first!.pid!)).toBe(false);
    expect(await stompConnect(restarted!)).toBe('connected');

    await p.stopBroker('lp-supervised');
    expect(running(restarted!.pid!)).toBe(false);
    await sleep(1000); // five check intervals: a stopped broker stays stopped
    expect(await p.brokerInstances('lp-supervised')).toEqual([]);
    expect(await recordFiles()).not.toContain('broker.lp-supervised-1.json');
    expect(events.filter((e) => e.type === 'restarted')).toHaveLength(1);
  });

  it('shows CRASH_LOOP for an instance that keeps dying soon after each start, and keeps restarting it', async () => {
    const db = await database();
    const events: SupervisorEvent[] = [];
    const p = createLocalProvisioner({
      stateDir,
      supervise: { intervalMs: 200, backoffMinMs: 200, onEvent: (e) => events.push(e) },
    });
    provisioners.push(p);
    const [first] = track(await p.startBroker(spec('lp-looping', db.url, 'SINGLE_INSTANCE')));
    expect(p.supervision('broker', 'lp-looping')?.state).toBe('RUNNING');
    let pid = first!.pid!;
    for (let crash = 1; crash <= 3; crash++) {
      process.kill(pid, 'SIGKILL');
      const restarts = crash;
      await waitFor(
        () => events.filter((e) => e.type === 'restarted').length >= restarts,
        `restart ${crash}`,
        90_000,
      );
      const [now] = track(await p.brokerInstances('lp-looping'));
      expect(now!.pid).not.toBe(pid);
      expect(now!.stomp).toBe(first!.stomp);
      pid = now!.pid!;
    }
    expect(events.some((e) => e.type === 'crash-loop' && e.key === 'broker:lp-looping')).toBe(true);
    expect(p.supervision('broker', 'lp-looping')).toMatchObject({ state: 'CRASH_LOOP' });
    await p.stopBroker('lp-looping', { graceful: false });
    expect(p.supervision('broker', 'lp-looping')).toBeUndefined();
  }, 300_000); // three restarts of a real broker on a busy machine

  it('fails a broker that cannot reach its database with the reason from its log', async () => {
    const p = provisioner();
    const failing = p.startBroker(
      spec('lp-bad-db', 'postgres://postgres@127.0.0.1:1/nowhere', 'ACTIVE_STANDBY_MULTI_AZ'),
    );
    const error = await failing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isProcessStartError(error)).toBe(true);
    if (!isProcessStartError(error)) return;
    expect(error.message).toMatch(/before it printed its endpoints/);
    expect(error.logTail).toMatch(/ECONNREFUSED|connect/i);
    expect(error.logFile).toMatch(/lp-bad-db-\d\.log$/);
    expect(await p.brokerInstances('lp-bad-db')).toEqual([]);
    expect((await recordFiles()).filter((f) => f.startsWith('broker.lp-bad-db-'))).toEqual([]);
  });

  it('refuses a broker id that is not one', async () => {
    const p = provisioner();
    await expect(
      p.startBroker(spec('../etc', 'postgres://x/y', 'SINGLE_INSTANCE')),
    ).rejects.toThrow(/brokerId must be/);
    await expect(p.stopReplicator('a/b')).rejects.toThrow(/replicaBrokerId must be/);
  });

  it('starts, adopts and stops a replicator', async () => {
    nats = await startNatsServer();
    const db = await database();
    const p = provisioner();
    const replicatorSpec = {
      replicaBrokerId: 'lp-replica',
      primaryBrokerId: 'lp-primary',
      env: { REPLICATOR_DB_URL: db.url, REPLICATOR_NATS_URL: nats.url, LOG_LEVEL: 'warn' },
    };
    const info = await p.startReplicator(replicatorSpec);
    track([info]);
    expect(info.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await checkGrpcHealth(info.grpc, { deadlineMs: 5000 })).toBe('SERVING');
    expect(await p.replicator('lp-replica')).toEqual(info);
    expect(existsSync(join(stateDir, 'logs', 'lp-replica.replicator.log'))).toBe(true);

    const other = provisioner();
    expect(await other.startReplicator(replicatorSpec)).toEqual(info);

    await other.stopReplicator('lp-replica');
    expect(running(info.pid!)).toBe(false);
    expect(await other.replicator('lp-replica')).toBeUndefined();
    await other.stopReplicator('lp-replica');
  });
});
