import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, loadProto, type controlPlaneV1 } from '@crdr/proto';
import { connectStomp, type StompClient } from '@crdr/stomp';
import {
  freePort,
  hostPort,
  startPostgresServer,
  startTcpProxy,
  waitFor,
  type PostgresServerHandle,
  type TcpProxy,
} from '@crdr/testing';
import { stackCli, testStackEnv } from './stack-cli.js';

// The stack users run (`pnpm stack up`), a pair made through the control planes' public API, a
// STOMP producer with receipts, and the end checks every fault case shares (issue 11). Used by
// the chaos tests and by `pnpm bench:faults`, so both inject and judge faults the same way.

export type Region = 'region-a' | 'region-b';
export type Described = controlPlaneV1.DescribeBrokerResponse__Output;
type ControlPlaneClient = ReturnType<typeof controlPlaneClient>;

/** Anything that starts processes, on a shared two-core machine. */
export const PROCESS_MS = 180_000;
export const appUser = { username: 'app-user', password: 'app-password-1' };

const proto = () => loadProto().crdr.controlplane.v1;
const controlPlaneClient = (address: string) =>
  createClient(proto().ControlPlaneService, address, { deadlineMs: 30_000 });

export interface FaultStackOptions {
  /**
   * Region-a (the primary's) on a Postgres of its own that a test may restart; without it the
   * stack uses the machine's shared server, which nobody may restart.
   */
  readonly ownPostgres?: boolean;
  /** A TCP proxy between region-b's replicators and region-a's NATS, to cut the Region link. */
  readonly linkProxy?: boolean;
}

export interface FaultStack {
  readonly env: Readonly<Record<string, string>>;
  readonly endpoints: Readonly<Record<Region, { controlPlane: string; metricsHttp: string }>>;
  /** Region-a's own Postgres (with `ownPostgres`). */
  readonly postgres: PostgresServerHandle | undefined;
  /** The Region link as region-b's replicators see it (with `linkProxy`). */
  readonly link: TcpProxy | undefined;
  describe(region: Region, brokerId: string): Promise<Described>;
  /** Polls DescribeBroker until `check`; the error shows the last answer. */
  waitForBroker(
    region: Region,
    brokerId: string,
    check: (b: Described) => boolean,
    what: string,
  ): Promise<Described>;
  client(region: Region): ControlPlaneClient;
  /** Drops the cached client (its Region went down and comes back). */
  resetClient(region: Region): void;
  stop(): Promise<void>;
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const env = await testStackEnv();
  const postgres = options.ownPostgres === true ? await startPostgresServer() : undefined;
  if (postgres !== undefined) env['STACK_REGION_A_PG_URL'] = postgres.url;
  // The proxy's port is handed to region-a's control plane before region-a's NATS port exists
  // (the launcher chooses it); the proxy starts on that port once `up` says where NATS is.
  const linkPort = options.linkProxy === true ? await freePort() : undefined;
  if (linkPort !== undefined)
    env['STACK_REGION_A_REPLICATION_NATS_URL'] = `tls://127.0.0.1:${linkPort}`;
  const up = await stackCli(['up'], env);
  if (up.code !== 0) {
    await postgres?.cleanup();
    throw new Error(`stack up failed: ${up.stderr}`);
  }
  const parsed = JSON.parse(up.stdout) as {
    regions: Record<Region, { controlPlane: string; metricsHttp: string; nats: string }>;
  };
  const link =
    linkPort === undefined
      ? undefined
      : await startTcpProxy({
          targetPort: Number(new URL(parsed.regions['region-a'].nats).port),
          listenPort: linkPort,
        });
  const clients = new Map<Region, ControlPlaneClient>();
  const client = (region: Region) => {
    let c = clients.get(region);
    if (c === undefined) {
      c = controlPlaneClient(parsed.regions[region].controlPlane);
      clients.set(region, c);
    }
    return c;
  };
  const resetClient = (region: Region) => {
    clients.get(region)?.close();
    clients.delete(region);
  };
  const describe = (region: Region, brokerId: string) =>
    client(region).describeBroker({ brokerId });
  return {
    env,
    endpoints: parsed.regions,
    postgres,
    link,
    describe,
    client,
    resetClient,
    async waitForBroker(region, brokerId, check, what) {
      let last: Described | undefined;
      let lastError: unknown;
      try {
        await waitFor(
          async () => {
            try {
              last = await describe(region, brokerId);
              return check(last);
            } catch (error) {
              lastError = error;
              resetClient(region);
              return false;
            }
          },
          `${region} ${brokerId}: ${what}`,
          PROCESS_MS,
          500,
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nlast DescribeBroker: ${JSON.stringify(last)}\n` +
            `last error: ${String(lastError)}`,
          { cause: error },
        );
      }
      return last!;
    },
    async stop() {
      for (const c of clients.values()) c.close();
      await link?.close();
      await stackCli(['down', '--purge'], env);
      await postgres?.cleanup();
    },
  };
}

export const replicationStatus = (b: Described) =>
  b.dataReplicationMetadata?.replicationStatus ?? '';
export const replicating = (b: Described) => replicationStatus(b) === 'REPLICATING';
const states = (b: Described) => b.brokerInstances.map((i) => i.instanceState).sort();
export const healthyPrimary = (b: Described) =>
  b.brokerState === 'RUNNING' && states(b).join() === 'ACTIVE,STANDBY';
export const healthyReplica = (b: Described) =>
  b.brokerState === 'REPLICA' &&
  b.brokerInstances.length === 2 &&
  b.brokerInstances.every((i) => i.instanceState === 'ACTIVE' || i.instanceState === 'STANDBY');
export const stompEndpoints = (b: Described) =>
  b.brokerInstances.flatMap((i) => i.endpoints).filter((e) => e.startsWith('stomp://'));

export interface Pair {
  readonly primaryId: string;
  readonly replicaId: string;
}

/** A primary in region-a (active/standby) and its replica in region-b, both REPLICATING. */
export async function createPair(stack: FaultStack, name: string): Promise<Pair> {
  const common = {
    engineType: 'ACTIVEMQ',
    engineVersion: '5.18.4',
    hostInstanceType: 'mq.m5.large',
    deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
  };
  const primary = await stack.client('region-a').createBroker({
    ...common,
    brokerName: name,
    users: [{ ...appUser, consoleAccess: true }],
  });
  const primaryId = primary.brokerId;
  await stack.waitForBroker('region-a', primaryId, (b) => b.brokerState === 'RUNNING', 'RUNNING');
  const replica = await stack.client('region-b').createBroker({
    ...common,
    brokerName: `${name}-replica`,
    users: [{ username: 'repl-user', password: 'repl-password-1', replicationUser: true }],
    dataReplicationMode: 'CRDR',
    dataReplicationPrimaryBrokerArn: primary.brokerArn,
  });
  const replicaId = replica.brokerId;
  await stack.waitForBroker('region-b', replicaId, (b) => b.brokerState === 'REPLICA', 'REPLICA');
  // Pairing takes effect on the primary at its next reboot (docs/interface.md, pairing).
  await stack.client('region-a').rebootBroker({ brokerId: primaryId });
  await stack.waitForBroker(
    'region-a',
    primaryId,
    (b) => healthyPrimary(b) && replicating(b),
    'RUNNING, REPLICATING, one ACTIVE and one STANDBY instance',
  );
  await stack.waitForBroker(
    'region-b',
    replicaId,
    (b) => healthyReplica(b) && replicating(b),
    'REPLICA, REPLICATING, both instances answering',
  );
  return { primaryId, replicaId };
}

/** A process the Region's control plane started, from the local provisioner's record. */
export function recordedPid(
  stack: FaultStack,
  region: Region,
  kind: 'broker' | 'replicator',
  id: string,
): number {
  const file = join(
    stack.env['STACK_DIR']!,
    region,
    'control-plane',
    'processes',
    `${kind}.${id}.json`,
  );
  return (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Connects to the first endpoint of the list that accepts, as a failover host list does. */
export async function connectFailover(endpoints: readonly string[]): Promise<StompClient> {
  const errors: string[] = [];
  for (const endpoint of endpoints) {
    try {
      return await connectStomp({
        ...hostPort(endpoint),
        login: appUser.username,
        passcode: appUser.password,
        connectTimeoutMs: 5_000,
      });
    } catch (error) {
      errors.push(`${endpoint}: ${String(error)}`);
    }
  }
  throw new Error(`no endpoint accepted: ${errors.join('; ')}`);
}

export interface Producer {
  /** SENDs the broker confirmed with a RECEIPT so far. */
  readonly receipted: number;
  /** Resolves once `count` more SENDs were receipted. */
  waitForReceipts(count: number): Promise<void>;
  /** Stops sending; resolves with the number of receipted SENDs. */
  stop(): Promise<number>;
}

/**
 * A steady producer of persistent messages with receipts to the primary, through its endpoint
 * list: it reconnects through whatever fault happens and counts what the broker confirmed.
 */
export function startProducer(
  stack: FaultStack,
  primaryId: string,
  queue: string,
  intervalMs = 100,
): Producer {
  let receipted = 0;
  let stopping = false;
  const loop = (async () => {
    let stomp: StompClient | undefined;
    while (!stopping) {
      try {
        if (stomp === undefined) {
          const endpoints = stompEndpoints(await stack.describe('region-a', primaryId));
          stomp = await connectFailover(endpoints);
        }
        const sent = stomp.send(queue, `m-${receipted}`, { persistent: 'true' }, { receipt: true });
        // A broker whose store is away may hold a SEND; give up on it and reconnect.
        const timeout = sleep(15_000).then(() => {
          throw new Error('no receipt within 15 s');
        });
        await Promise.race([sent, timeout]);
        receipted += 1;
        await sleep(intervalMs);
      } catch {
        stomp?.destroy();
        stomp = undefined;
        stack.resetClient('region-a');
        await sleep(250);
      }
    }
    await stomp?.disconnect().catch(() => stomp?.destroy());
  })();
  return {
    get receipted() {
      return receipted;
    },
    async waitForReceipts(count) {
      const target = receipted + count;
      await waitFor(() => receipted >= target, `${count} more receipted messages`, PROCESS_MS, 100);
    },
    async stop() {
      stopping = true;
      await loop;
      return receipted;
    },
  };
}

export async function stateDigest(stack: FaultStack, region: Region, brokerId: string) {
  const internal = createClient(
    proto().ControlPlaneInternalService,
    stack.endpoints[region].controlPlane,
    { deadlineMs: 30_000 },
  );
  try {
    const { targets } = await internal.listTargets({});
    const target = targets.find((t) => t.brokerId === brokerId)!;
    for (const endpoint of target.brokerGrpcEndpoints) {
      const admin = createClient(loadProto().crdr.broker.v1.BrokerAdminService, endpoint, {
        credentials: { username: target.adminUsername, password: target.adminPassword },
        deadlineMs: 15_000,
      });
      try {
        return await admin.getStateDigest({});
      } catch {
        // The next instance.
      } finally {
        admin.close();
      }
    }
    throw new Error(`no instance of ${brokerId} answered`);
  } finally {
    internal.close();
  }
}

/**
 * Every receipted message is on the replica: both sides are at the same sequence with equal
 * state digests, and hold at least the `receipted` messages (a SEND cut off before its receipt
 * may have landed too; it is then on both sides).
 */
export async function expectAllReplicated(
  stack: FaultStack,
  pair: Pair,
  receipted: number,
): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      try {
        const [p, r] = await Promise.all([
          stateDigest(stack, 'region-a', pair.primaryId),
          stateDigest(stack, 'region-b', pair.replicaId),
        ]);
        last = `primary ${p.messages} messages at ${p.sequence} (${p.digest}), replica ${r.messages} at ${r.sequence} (${r.digest})`;
        return (
          p.sequence === r.sequence && p.digest === r.digest && Number(r.messages) >= receipted
        );
      } catch (error) {
        last = String(error);
        return false;
      }
    },
    `the replica to hold all ${receipted} receipted messages with an equal digest`,
    PROCESS_MS,
    1_000,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last: ${last}`, { cause: error });
  });
}
