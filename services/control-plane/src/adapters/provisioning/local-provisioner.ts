import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest, failedPrecondition } from '@crdr/errors';
import { launchDetached, waitForEndpoints } from './process-launch.js';
import {
  isRecordedProcessAlive,
  processStartTime,
  processTokenVariable,
  stopRecordedProcess,
} from './process-liveness.js';
import { createSupervisor, type SupervisorEvent } from './local-supervisor.js';
import { portOf, stablePorts } from './stable-ports.js';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  createProcessRecordStore,
  type ProcessKind,
  type ProcessRecord,
} from './process-record.js';
import type {
  BrokerInstanceInfo,
  BrokerProcessSpec,
  Provisioner,
  ReplicatorInfo,
  ReplicatorProcessSpec,
} from './provisioner.js';

export { isProcessStartError, ProcessStartError } from './process-launch.js';
export type { SupervisionStatus, SupervisorEvent } from './local-supervisor.js';

/** The repository root (this file is services/control-plane/src/adapters/provisioning/). */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');

/**
 * A service's built JavaScript, `services/<name>/dist/main.js`, built first when missing or
 * older than its sources. Where it cannot be built (a production install without esbuild) and
 * is not there, the TypeScript entry runs through tsx as before.
 */
function builtEntry(service: 'broker' | 'replicator'): string {
  const built = join(repoRoot, 'services', service, 'dist', 'main.js');
  try {
    execFileSync(
      process.execPath,
      [join(repoRoot, 'scripts', 'build-services.mjs'), '--if-stale'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  } catch {
    // Whatever is there (a bundle shipped built, or the sources) runs.
  }
  return existsSync(built) ? built : join(repoRoot, 'services', service, 'src', 'main.ts');
}

export interface LocalProvisionerOptions {
  /** Where process records (`processes/`) and logs (`logs/`) live; kept across restarts. */
  readonly stateDir: string;
  /** The interface brokers and replicators listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Default `<repo>/services/broker/dist/main.js` (a `.ts` entry runs through tsx). */
  readonly brokerEntry?: string;
  /** Default `<repo>/services/replicator/dist/main.js`. */
  readonly replicatorEntry?: string;
  /** The children's working directory (where `tsx` resolves). Default the repository root. */
  readonly cwd?: string;
  /**
   * The environment every child starts from, before its own variables. Default this process's
   * environment without its BROKER_* and REPLICATOR_* variables.
   */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** How long a child may take to print its ENDPOINTS line. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /** How long a graceful stop waits after SIGTERM before SIGKILL. Default 10 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Restart, while this provisioner runs, the instances and replicators it started or adopted
   * that died (not those stopped through it). Off when absent.
   */
  readonly supervise?: LocalSupervisionOptions;
}

export interface LocalSupervisionOptions {
  /** How often processes are checked. Default 1 s. */
  readonly intervalMs?: number;
  /**
   * Wait before restarting a process that died soon after its start, doubled on each such
   * death in a row up to the max. Default 1 s and 30 s.
   */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** How long a process must run for its death to count as a first one. Default 60 s. */
  readonly stableAfterMs?: number;
  /** Deaths in a row (each soon after its start) that make a CRASH_LOOP. Default 3. */
  readonly crashLoopAfter?: number;
  /** Told of every restart and failed restart (the control plane logs them). */
  readonly onEvent?: (event: SupervisorEvent) => void;
}

const idPattern = /^[A-Za-z0-9._-]{1,100}$/;

/** STOMP, WebSocket, clients' gRPC (open on the active instance only) and admin gRPC. */
interface InstancePorts {
  readonly stomp: number;
  readonly ws: number;
  readonly grpc: number;
  readonly admin: number;
}

/** `stomp://127.0.0.1:61613` → `127.0.0.1:61613`. */
const hostPort = (endpoint: string | undefined): string =>
  (endpoint ?? '').replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');

function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (name.startsWith('BROKER_') || name.startsWith('REPLICATOR_')) continue;
    if (name === processTokenVariable) continue;
    env[name] = value;
  }
  return env;
}

function brokerInfo(record: ProcessRecord): BrokerInstanceInfo {
  const endpoints = record.endpoints ?? {};
  return {
    instanceId: record.id,
    stomp: hostPort(endpoints['stomp']),
    ws: hostPort(endpoints['ws']),
    grpc: hostPort(endpoints['grpc']),
    ...(endpoints['admin'] === undefined ? {} : { admin: hostPort(endpoints['admin']) }),
    pid: record.pid,
  };
}

function replicatorInfo(record: ProcessRecord): ReplicatorInfo {
  return { grpc: hostPort(record.endpoints?.['grpc']), pid: record.pid };
}

/**
 * The `local` provisioner: brokers and replicators as detached child processes of this machine
 * (`node --import tsx <entry>`), recorded under `<stateDir>/processes/` and logging to
 * `<stateDir>/logs/`. A new provisioner over the same stateDir re-adopts the processes that still
 * run (checked by pid and by a token in their environment) and restarts only the ones that died
 * when asked to start them. Synchronous: nothing happens until a method is called.
 *
 * One provisioner per stateDir at a time: operations on one broker are serialized within a
 * provisioner, not across processes.
 */
/**
 * The spec of each replicator the control plane started and has not stopped, kept so that it
 * can be started again when the control plane starts (its NATS credentials came from the
 * primary's Region, which may be away then). Owner-only files, like the process records.
 */
function replicatorSpecStore(dir: string) {
  const file = (id: string) => join(dir, `${id}.json`);
  return {
    async read(id: string): Promise<ReplicatorProcessSpec | undefined> {
      try {
        return JSON.parse(await readFile(file(id), 'utf8')) as ReplicatorProcessSpec;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async write(spec: ReplicatorProcessSpec): Promise<void> {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temporary = `${file(spec.replicaBrokerId)}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temporary, `${JSON.stringify(spec)}\n`, { mode: 0o600 });
      await rename(temporary, file(spec.replicaBrokerId));
    },
    async remove(id: string): Promise<void> {
      await rm(file(id), { force: true });
    },
  };
}

export function createLocalProvisioner(options: LocalProvisionerOptions): Provisioner {
  const stateDir = resolve(options.stateDir);
  const records = createProcessRecordStore(join(stateDir, 'processes'));
  const logDir = join(stateDir, 'logs');
  const host = options.host ?? '127.0.0.1';
  const cwd = options.cwd ?? repoRoot;
  const brokerEntry = options.brokerEntry ?? builtEntry('broker');
  const replicatorEntry = options.replicatorEntry ?? builtEntry('replicator');
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const baseEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.baseEnv ?? defaultBaseEnv())) {
    if (value !== undefined) baseEnv[name] = value;
  }
  const closing = new AbortController();
  /** Exit descriptions of the children this provisioner started (it is their parent). */
  const exits = new Map<number, () => string | undefined>();
  /** One operation at a time per broker (or replicator), so two starts cannot both spawn. */
  const locks = new Map<string, Promise<unknown>>();

  function serialized<T>(key: string, action: () => Promise<T>): Promise<T> {
    if (closing.signal.aborted)
      return Promise.reject(failedPrecondition('the local provisioner is closed'));
    const previous = locks.get(key) ?? Promise.resolve();
    const next = previous.then(action, action);
    const settled = next.catch(() => undefined);
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
    return next;
  }

  const supervisor =
    options.supervise === undefined
      ? undefined
      : createSupervisor({
          intervalMs: options.supervise.intervalMs ?? 1000,
          backoffMinMs: options.supervise.backoffMinMs ?? 1000,
          backoffMaxMs: options.supervise.backoffMaxMs ?? 30_000,
          stableAfterMs: options.supervise.stableAfterMs ?? 60_000,
          crashLoopAfter: options.supervise.crashLoopAfter ?? 3,
          ...(options.supervise.onEvent === undefined
            ? {}
            : { onEvent: options.supervise.onEvent }),
        });
  const specs = replicatorSpecStore(join(stateDir, 'replicators'));
  /** The spec each supervised key was last started with; its restarts use it. */
  const supervised = new Map<string, object>();

  /** Called under the key's lock, after a successful start. */
  function superviseLocked(
    key: string,
    spec: object,
    wanted: readonly { kind: ProcessKind; id: string }[],
    restartLocked: () => Promise<unknown>,
  ): void {
    if (supervisor === undefined) return;
    supervised.set(key, spec);
    const exited = async (): Promise<string | undefined> => {
      for (const { kind, id } of wanted) {
        const record = await records.read(kind, id);
        if (record === undefined) return `${id} has no process record`;
        if (!isRecordedProcessAlive(record)) {
          // Only a child of this provisioner has an exit status; an adopted one just ended.
          const how = exits.get(record.pid)?.() ?? 'ended';
          return `${id} (pid ${record.pid}) ${how}`;
        }
      }
      return undefined;
    };
    supervisor.watch(key, exited, () =>
      serialized(key, async () => {
        // A stopBroker/stopReplicator or a newer start since the check: not ours to restart.
        if (supervised.get(key) === spec) await restartLocked();
      }),
    );
  }

  function unsuperviseLocked(key: string): void {
    supervised.delete(key);
    supervisor?.unwatch(key);
  }

  function checkId(what: string, value: string): void {
    if (!idPattern.test(value))
      throw badRequest(
        `${what} must be 1 to 100 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(value)})`,
        {
          details: { field: what },
        },
      );
  }

  async function stop(record: ProcessRecord, graceful: boolean): Promise<void> {
    await stopRecordedProcess(record, {
      graceful,
      gracefulTimeoutMs: stopTimeoutMs,
      killTimeoutMs: 10_000,
    });
    await records.remove(record.kind, record.id);
    exits.delete(record.pid);
  }

  /** Adopts the recorded process when it still runs (waiting for its endpoints if need be). */
  async function adopt(record: ProcessRecord): Promise<ProcessRecord | undefined> {
    if (!isRecordedProcessAlive(record)) {
      await records.remove(record.kind, record.id);
      exits.delete(record.pid);
      return undefined;
    }
    if (record.endpoints !== undefined) return record;
    return await awaitReady(record);
  }

  /** Waits for the ENDPOINTS line; on failure kills the process and forgets it. */
  async function awaitReady(record: ProcessRecord): Promise<ProcessRecord> {
    try {
      const endpoints = await waitForEndpoints(record, {
        timeoutMs: readyTimeoutMs,
        signal: closing.signal,
        exitDescription: exits.get(record.pid),
      });
      const ready = { ...record, endpoints };
      await records.write(ready);
      return ready;
    } catch (error) {
      // A close() leaves the process to the next provisioner, which adopts it.
      if (closing.signal.aborted) throw error;
      await stop(record, false);
      throw error;
    }
  }

  async function launch(spec: {
    readonly kind: ProcessKind;
    readonly id: string;
    readonly brokerId: string;
    readonly primaryBrokerId?: string;
    readonly entry: string;
    readonly logName: string;
    readonly env: Record<string, string>;
  }): Promise<ProcessRecord> {
    const token = randomBytes(16).toString('hex');
    // Built JavaScript starts in a fraction of the time the tsx loader takes; a TypeScript
    // entry (a test's) still runs through tsx.
    const command = spec.entry.endsWith('.ts')
      ? [process.execPath, '--import', 'tsx', spec.entry]
      : [process.execPath, spec.entry];
    const logFile = join(logDir, `${spec.logName}.log`);
    const launched = await launchDetached({
      command,
      cwd,
      env: { ...baseEnv, ...spec.env, [processTokenVariable]: token },
      logFile,
    });
    exits.set(launched.pid, launched.exitDescription);
    const startTime = processStartTime(launched.pid);
    const record: ProcessRecord = {
      kind: spec.kind,
      id: spec.id,
      brokerId: spec.brokerId,
      ...(spec.primaryBrokerId === undefined ? {} : { primaryBrokerId: spec.primaryBrokerId }),
      pid: launched.pid,
      token,
      command,
      cwd,
      logFile,
      logOffset: launched.logOffset,
      startedAt: new Date().toISOString(),
      ...(startTime === undefined ? {} : { startTime }),
    };
    // Recorded before waiting, so a control plane killed now finds the process after restart.
    await records.write(record);
    return await awaitReady(record);
  }

  /** The ports every record (running or not) and every kept endpoint holds: not to be given out. */
  async function takenPorts(extra: readonly (string | undefined)[] = []): Promise<Set<number>> {
    const taken = new Set<number>();
    for (const record of await records.list())
      for (const endpoint of Object.values(record.endpoints ?? {})) {
        const port = portOf(hostPort(endpoint));
        if (port !== undefined) taken.add(port);
      }
    for (const endpoint of extra) {
      const port = portOf(endpoint);
      if (port !== undefined) taken.add(port);
    }
    return taken;
  }

  /**
   * The ports of a broker instance: those it keeps (the spec's, from the control plane's store),
   * else new ones below the ephemeral range.
   */
  async function instancePorts(
    spec: BrokerProcessSpec,
    instanceId: string,
  ): Promise<InstancePorts> {
    const kept = spec.instances?.find((i) => i.instanceId === instanceId);
    const stomp = portOf(kept?.stomp);
    const ws = portOf(kept?.ws);
    const grpc = portOf(kept?.grpc);
    const admin = portOf(kept?.admin);
    if (stomp && ws && grpc && admin) return { stomp, ws, grpc, admin };
    const others = (spec.instances ?? []).flatMap((i) => [i.stomp, i.ws, i.grpc, i.admin]);
    const fresh = await stablePorts(4, host, await takenPorts(others));
    // A broker created before the admin port existed keeps its client ports, gains that one.
    if (stomp && ws && grpc) return { stomp, ws, grpc, admin: fresh[0]! };
    return { stomp: fresh[0]!, ws: fresh[1]!, grpc: fresh[2]!, admin: fresh[3]! };
  }

  function brokerEnv(
    spec: BrokerProcessSpec,
    instanceId: string,
    ports: InstancePorts,
  ): Record<string, string> {
    return {
      LOG_LEVEL: 'info',
      BROKER_HOST: host,
      BROKER_STOMP_PORT: String(ports.stomp),
      BROKER_WS_PORT: String(ports.ws),
      BROKER_GRPC_PORT: String(ports.grpc),
      BROKER_ADMIN_PORT: String(ports.admin),
      ...spec.env,
      BROKER_ID: spec.brokerId,
      BROKER_INSTANCE_ID: instanceId,
      BROKER_DB_URL: spec.dbUrl,
      BROKER_PRINT_ENDPOINTS: 'true',
    };
  }

  async function ensureBrokerInstance(
    spec: BrokerProcessSpec,
    n: number,
  ): Promise<{ record: ProcessRecord; started: boolean }> {
    const instanceId = `${spec.brokerId}-${n}`;
    const existing = await records.read('broker', instanceId);
    const adopted = existing === undefined ? undefined : await adopt(existing);
    if (adopted !== undefined) return { record: adopted, started: false };
    const ports = await instancePorts(spec, instanceId);
    const record = await launch({
      kind: 'broker',
      id: instanceId,
      brokerId: spec.brokerId,
      entry: brokerEntry,
      logName: instanceId,
      env: brokerEnv(spec, instanceId, ports),
    });
    return { record, started: true };
  }

  async function brokerRecords(brokerId: string): Promise<ProcessRecord[]> {
    const all = await records.list();
    return all
      .filter((record) => record.kind === 'broker' && record.brokerId === brokerId)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async function startBrokerLocked(spec: BrokerProcessSpec): Promise<BrokerInstanceInfo[]> {
    const count = spec.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ' ? 2 : 1;
    const wanted = Array.from({ length: count }, (_, i) => `${spec.brokerId}-${i + 1}`);
    for (const extra of await brokerRecords(spec.brokerId)) {
      if (!wanted.includes(extra.id)) await stop(extra, true);
    }
    const outcomes = await Promise.allSettled(
      wanted.map((_, i) => ensureBrokerInstance(spec, i + 1)),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      // Do not leave half a broker behind: stop what this call started.
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled' && outcome.value.started)
          await stop(outcome.value.record, false);
      }
      throw failed.reason;
    }
    return outcomes.map((o) =>
      brokerInfo((o as PromiseFulfilledResult<{ record: ProcessRecord }>).value.record),
    );
  }

  /** Starts a replicator and has the supervisor keep it running; call it under its key's lock. */
  async function startSupervisedReplicatorLocked(
    key: string,
    spec: ReplicatorProcessSpec,
  ): Promise<ReplicatorInfo> {
    try {
      const info = await startReplicatorLocked(spec);
      const kept: ReplicatorProcessSpec = { ...spec, grpc: info.grpc };
      await specs.write(kept);
      superviseLocked(key, spec, [{ kind: 'replicator', id: spec.replicaBrokerId }], () =>
        startReplicatorLocked(kept),
      );
      return info;
    } catch (error) {
      await specs.write(spec);
      superviseLocked(key, spec, [{ kind: 'replicator', id: spec.replicaBrokerId }], () =>
        startReplicatorLocked(spec),
      );
      throw error;
    }
  }

  async function startReplicatorLocked(spec: ReplicatorProcessSpec): Promise<ReplicatorInfo> {
    const existing = await records.read('replicator', spec.replicaBrokerId);
    if (existing !== undefined && existing.primaryBrokerId !== spec.primaryBrokerId) {
      // It replicates from another primary (a re-pair): replace it.
      await stop(existing, true);
    } else if (existing !== undefined) {
      const adopted = await adopt(existing);
      if (adopted !== undefined) return replicatorInfo(adopted);
    }
    // Its gRPC port is kept across restarts: the control plane recorded it.
    const grpcPort =
      portOf(spec.grpc) ??
      portOf(hostPort(existing?.endpoints?.['grpc'])) ??
      (await stablePorts(1, host, await takenPorts()))[0]!;
    const record = await launch({
      kind: 'replicator',
      id: spec.replicaBrokerId,
      brokerId: spec.replicaBrokerId,
      primaryBrokerId: spec.primaryBrokerId,
      entry: replicatorEntry,
      logName: `${spec.replicaBrokerId}.replicator`,
      env: {
        LOG_LEVEL: 'info',
        REPLICATOR_GRPC_HOST: host,
        REPLICATOR_GRPC_PORT: String(grpcPort),
        ...spec.env,
        REPLICATOR_PRIMARY_BROKER_ID: spec.primaryBrokerId,
        REPLICATOR_REPLICA_BROKER_ID: spec.replicaBrokerId,
      },
    });
    return replicatorInfo(record);
  }

  return {
    kind: 'local',

    async startBroker(spec) {
      checkId('brokerId', spec.brokerId);
      const key = `broker:${spec.brokerId}`;
      return await serialized(key, async () => {
        try {
          const instances = await startBrokerLocked(spec);
          // Restarts keep the endpoints this start gave out.
          const kept: BrokerProcessSpec = { ...spec, instances };
          superviseLocked(
            key,
            spec,
            instances.map((i) => ({ kind: 'broker', id: i.instanceId })),
            () => startBrokerLocked(kept),
          );
          return instances;
        } catch (error) {
          // Retried with backoff until it starts or is stopped through this provisioner (a
          // failed creation is); it shows as CRASH_LOOP if it keeps failing.
          const count = spec.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ' ? 2 : 1;
          superviseLocked(
            key,
            spec,
            Array.from({ length: count }, (_, i) => ({
              kind: 'broker',
              id: `${spec.brokerId}-${i + 1}`,
            })),
            () => startBrokerLocked(spec),
          );
          throw error;
        }
      });
    },

    async stopBroker(brokerId, stopOptions) {
      checkId('brokerId', brokerId);
      const key = `broker:${brokerId}`;
      return await serialized(key, async () => {
        unsuperviseLocked(key);
        const graceful = stopOptions?.graceful ?? true;
        await Promise.all((await brokerRecords(brokerId)).map((r) => stop(r, graceful)));
      });
    },

    async brokerInstances(brokerId) {
      checkId('brokerId', brokerId);
      const running = (await brokerRecords(brokerId)).filter(
        (record) => record.endpoints !== undefined && isRecordedProcessAlive(record),
      );
      return running.map(brokerInfo);
    },

    async startReplicator(spec) {
      checkId('replicaBrokerId', spec.replicaBrokerId);
      checkId('primaryBrokerId', spec.primaryBrokerId);
      const key = `replicator:${spec.replicaBrokerId}`;
      return await serialized(key, () => startSupervisedReplicatorLocked(key, spec));
    },

    async stopReplicator(replicaBrokerId, stopOptions) {
      checkId('replicaBrokerId', replicaBrokerId);
      const key = `replicator:${replicaBrokerId}`;
      return await serialized(key, async () => {
        unsuperviseLocked(key);
        await specs.remove(replicaBrokerId);
        const existing = await records.read('replicator', replicaBrokerId);
        if (existing !== undefined) await stop(existing, stopOptions?.graceful ?? true);
      });
    },

    async resumeReplicator(replicaBrokerId) {
      checkId('replicaBrokerId', replicaBrokerId);
      const key = `replicator:${replicaBrokerId}`;
      // The spec is read under the same lock as stopReplicator removes it: a replicator that a
      // promotion stops while the control plane starts again is not started again behind it.
      return await serialized(key, async () => {
        const spec = await specs.read(replicaBrokerId);
        return spec === undefined ? undefined : await startSupervisedReplicatorLocked(key, spec);
      });
    },

    supervision(kind, id) {
      return supervisor?.status(`${kind}:${id}`);
    },

    async replicator(replicaBrokerId) {
      checkId('replicaBrokerId', replicaBrokerId);
      const record = await records.read('replicator', replicaBrokerId);
      if (record === undefined || record.endpoints === undefined) return undefined;
      return isRecordedProcessAlive(record) ? replicatorInfo(record) : undefined;
    },

    async close() {
      supervisor?.close();
      closing.abort(failedPrecondition('the local provisioner is closed'));
      await Promise.allSettled([...locks.values()]);
    },
  };
}
