import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { isCrdrError } from '@crdr/errors';
import { createClient, loadProto } from '@crdr/proto';
import { ensureReplicationConsumer, replicationStreamName } from '@crdr/replication';
import { connectStomp, isStompServerError } from '@crdr/stomp';
import {
  hostPort,
  startServiceProcess,
  startTcpProxy,
  waitFor,
  type ServiceProcess,
  type TcpProxy,
} from '@crdr/testing';
import { startSteadyLoad } from '../support/steady-stomp-load.js';
import {
  startTwoRegions,
  type BrokerAdminClient,
  type ReplicatorClient,
  type StateDigest,
  type TwoRegions,
} from '../support/two-regions.js';

// Promotion by hand (issue 4, items 5-6): the broker and replicator calls a promotion saga makes,
// made directly, with no control plane. On one pair, in order:
//   1. switchover a → b under a steady STOMP producer and consumer: 0 lost, 0 duplicated;
//      b's new log starts empty and a follows it without a resync; digests equal.
//   2. failover b → a with b's broker killed (kill -9) while b had events a never received:
//      b comes back held, is demoted, its divergent tail is listed, and it is resynced from a
//      (snapshot onto its non-empty store).
//   3. fail-back a → b by a second switchover, with no snapshot (no divergent tail).

const proto = loadProto();
const credentials = { username: 'admin', password: 'admin' } as const;
const queue = '/queue/Promotion';

let regions: TwoRegions;
const cleanups: Array<() => Promise<unknown>> = [];

const grpcAddress = (endpoint: string): string => {
  const { host, port } = hostPort(endpoint);
  return `${host}:${port}`;
};

function adminOf(process: ServiceProcess): BrokerAdminClient {
  const client = createClient(
    proto.crdr.broker.v1.BrokerAdminService,
    grpcAddress(process.endpoints['grpc']!),
    { credentials },
  );
  cleanups.push(() => Promise.resolve(client.close()));
  return client;
}

interface Replicator {
  readonly process: ServiceProcess;
  readonly client: ReplicatorClient;
  kill(): Promise<void>;
}

/** A replicator that makes `replica` follow `primary`'s log in `natsUrl` (no auth: region-b). */
async function startReplicator(
  primary: string,
  replica: string,
  dbUrl: string,
  natsUrl: string,
): Promise<Replicator> {
  const process = await startServiceProcess({
    entry: 'services/replicator/src/main.ts',
    env: {
      REPLICATOR_PRIMARY_BROKER_ID: primary,
      REPLICATOR_REPLICA_BROKER_ID: replica,
      REPLICATOR_DB_URL: dbUrl,
      REPLICATOR_NATS_URL: natsUrl,
      REPLICATOR_GRPC_PORT: '0',
      REPLICATOR_IDLE_WAIT_MS: '500',
      REPLICATOR_BACKOFF_MIN_MS: '100',
      REPLICATOR_BACKOFF_MAX_MS: '500',
      LOG_LEVEL: 'warn',
    },
  });
  const client = createClient(
    proto.crdr.replicator.v1.ReplicatorService,
    grpcAddress(process.endpoints['grpc']!),
  );
  const kill = async (): Promise<void> => {
    client.close();
    await process.kill('SIGKILL');
  };
  cleanups.push(kill);
  return { process, client, kill };
}

async function waitApplied(
  replicator: { client: ReplicatorClient; process: ServiceProcess },
  sequence: string,
): Promise<void> {
  try {
    await replicator.client.waitForSequence(
      { sequence, timeoutMs: 30_000 },
      { deadlineMs: 35_000 },
    );
  } catch (error) {
    const status = await replicator.client.getStatus({}).catch(() => undefined);
    throw new Error(
      `sequence ${sequence} not applied: ${JSON.stringify(status)}\n${replicator.process.logs().slice(-3000)}`,
      { cause: error },
    );
  }
}

/** Digests of a primary and its replica at one sequence, once the replica applied it. */
async function settledDigests(
  primary: BrokerAdminClient,
  replica: BrokerAdminClient,
  replicator: { client: ReplicatorClient; process: ServiceProcess },
): Promise<[StateDigest, StateDigest]> {
  for (let attempt = 0; ; attempt++) {
    const p = await primary.getStateDigest({});
    await waitApplied(replicator, p.sequence);
    const r = await replica.getStateDigest({});
    if (r.sequence === p.sequence || attempt > 20) return [p, r];
  }
}

/**
 * The ERROR message the broker at `endpoint` refuses a client with; undefined when it accepts.
 * A broker listens for clients only once its instance holds the lease, a moment after its admin
 * port answers: a refused TCP connection is waited out, as a client with retries does.
 */
async function stompRefusal(endpoint: string): Promise<string | undefined> {
  let refusal: { message: string | undefined } | undefined;
  await waitFor(async () => {
    try {
      const client = await connectStomp({
        ...hostPort(endpoint),
        login: credentials.username,
        passcode: credentials.password,
        connectTimeoutMs: 5_000,
      });
      client.destroy();
      refusal = { message: undefined };
    } catch (error) {
      if (isStompServerError(error)) refusal = { message: error.headers['message'] ?? '' };
    }
    return refusal !== undefined;
  }, `the broker at ${endpoint} to answer a STOMP client`);
  return refusal!.message;
}

async function errorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (isCrdrError(error)) return error.code;
    throw error;
  }
  return 'none';
}

beforeAll(async () => {
  regions = await startTwoRegions({ name: 'e2e-promo' });
  await regions.enableReplication();
});

afterAll(async () => {
  // PROMOTION_LOG_DIR=/tmp/x keeps the brokers' logs for a look after a failure.
  const logDir = process.env['PROMOTION_LOG_DIR'];
  if (logDir !== undefined && regions !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${logDir}/broker-a.log`, regions.regionA.primary.logs());
    await writeFile(`${logDir}/broker-b.log`, regions.regionB.replica.logs());
    await writeFile(`${logDir}/replicator-b.log`, regions.replicatorLogs());
  }
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await regions?.stop();
});

describe('promotion by hand', () => {
  const ids = () => regions.ids;
  let brokerB: ServiceProcess;
  let adminB: BrokerAdminClient;
  let reverse: Replicator | undefined;
  let reverseLink: TcpProxy;

  it('switches over a → b under steady load with nothing lost or duplicated', async () => {
    const adminA = regions.regionA.admin;
    adminB = regions.regionB.admin;
    brokerB = regions.regionB.replica;
    const endpoints = [regions.regionA.primary.endpoints['stomp']!, brokerB.endpoints['stomp']!];
    const load = startSteadyLoad({ queue, endpoints: () => endpoints });
    await load.waitForConfirmed(200);

    // Demote a: clients are refused and disconnected, the marker ends a's log at S.
    const demotion = await adminA.beginDemotion({
      promotionId: 'switchover-1',
      nextEpoch: '2',
      newPrimaryRegion: 'region-b',
      newPrimaryBrokerId: ids().replica,
    });
    const again = await adminA.beginDemotion({
      promotionId: 'switchover-1',
      nextEpoch: '2',
      newPrimaryRegion: 'region-b',
      newPrimaryBrokerId: ids().replica,
    });
    expect(again.sequence, 'BeginDemotion is idempotent').toBe(demotion.sequence);
    expect(
      await errorCode(adminA.beginDemotion({ promotionId: 'another', nextEpoch: '3' })),
      'a second promotion is refused while one demotes',
    ).toBe('Conflict');
    const refusedA = await stompRefusal(regions.regionA.primary.endpoints['stomp']!);
    expect(refusedA).toContain('demoted by a switchover');
    expect(refusedA).toContain(ids().replica);
    const roleA = await adminA.getRole({});
    expect(roleA.demotion?.sequence).toBe(demotion.sequence);

    // Wait until b applied S: both stores are identical.
    await regions.waitForSequence(BigInt(demotion.sequence));
    const { primary: digestA, replica: digestB } = await regions.digests();
    expect(digestB.sequence).toBe(demotion.sequence);
    expect(digestB.digest, 'identical stores at the marker').toBe(digestA.digest);
    const point = (await adminB.getRole({})).applied!;
    expect(point).toMatchObject({ sourceBrokerId: ids().primary, sequence: demotion.sequence });

    // b becomes primary with epoch 2 and a log that starts empty; a becomes its replica.
    await regions.killReplicator();
    const promoted = await adminB.setRole({
      role: 'PRIMARY',
      epoch: '2',
      dataReplicationMode: 'CRDR',
      logStart: 'EMPTY',
    });
    expect(promoted.state).toMatchObject({ role: 'PRIMARY', epoch: '2' });
    await adminA.setRole({
      role: 'REPLICA',
      epoch: '2',
      primaryRegion: 'region-b',
      primaryBrokerId: ids().replica,
    });
    expect((await adminA.getRole({})).demotion).toBeNull();
    expect(
      await errorCode(adminA.setRole({ role: 'PRIMARY', epoch: '1', dataReplicationMode: 'CRDR' })),
      'an older epoch is fenced off',
    ).toBe('Conflict');

    // a follows b's new log from its start, without a snapshot.
    reverseLink = await startTcpProxy({ targetPort: regions.regionB.nats.port });
    cleanups.push(() => reverseLink.close());
    reverse = await startReplicator(
      ids().replica,
      ids().primary,
      regions.regionA.database.url,
      `nats://${reverseLink.host}:${reverseLink.port}`,
    );
    await load.waitForConfirmed(200);
    const report = await load.stop();
    expect(report.lost, 'messages lost').toEqual([]);
    expect(report.duplicated, 'messages duplicated').toEqual([]);
    expect(report.producerReconnects).toBeGreaterThanOrEqual(2);
    expect(report.sentConfirmed).toBeGreaterThanOrEqual(400);

    const roleB = await adminB.getRole({});
    const firstEvents = await adminB.listLogEvents({
      generation: roleB.logGeneration,
      afterSequence: '0',
      maxEvents: 2,
    });
    expect(firstEvents.events[0]).toMatchObject({ sequence: '1', type: 'LOG_STARTED' });
    expect(firstEvents.events[1]?.type ?? 'none').not.toBe('DESTINATION_CREATED');

    const last = (await adminB.getReplicationStatus({})).lastSequence;
    await waitApplied(reverse, last);
    const [a, b] = await Promise.all([adminA.getStateDigest({}), adminB.getStateDigest({})]);
    expect(a.sequence).toBe(last);
    expect(a.digest, 'a is b again after the switchover').toBe(b.digest);
    expect((await reverse.client.getStatus({})).appliedGeneration).toBe(roleB.logGeneration);
  });

  it('fails over b → a with b killed, keeps b held, lists its divergent tail and resyncs it', async () => {
    const adminA = regions.regionA.admin;
    // b has events a never receives: the Region link is cut, then b's broker is killed.
    reverseLink.cut();
    const producer = await connectStomp({
      ...hostPort(brokerB.endpoints['stomp']!),
      login: credentials.username,
      passcode: credentials.password,
    });
    for (let i = 0; i < 5; i++) {
      await producer.send(queue, `tail-${i}`, { persistent: 'true', 'tail-index': i });
    }
    producer.destroy();
    const bLog = await adminB.getRole({});
    await brokerB.kill('SIGKILL');
    await reverse!.kill();

    // The failover point is read from a's own store, with its replicator dead.
    const roleA = await adminA.getRole({});
    const failoverPoint = roleA.applied!;
    expect(failoverPoint.sourceBrokerId).toBe(ids().replica);
    expect(failoverPoint.sourceGeneration).toBe(bLog.logGeneration);
    expect(BigInt(failoverPoint.sequence)).toBeLessThan(BigInt(bLog.logLastSequence));

    // a becomes primary at once, epoch 3; its new log opens with a snapshot, for b's resync.
    await adminA.setRole({
      role: 'PRIMARY',
      epoch: '3',
      dataReplicationMode: 'CRDR',
      logStart: 'SNAPSHOT',
    });
    const client = await connectStomp({
      ...hostPort(regions.regionA.primary.endpoints['stomp']!),
      login: credentials.username,
      passcode: credentials.password,
    });
    client.destroy();

    // b comes back held: it serves no client although its store still says PRIMARY.
    brokerB = await startServiceProcess({
      entry: 'services/broker/src/main.ts',
      args: [
        '--db-url',
        regions.regionB.database.url,
        '--stomp-port',
        '0',
        '--ws-port',
        '0',
        '--grpc-port',
        '0',
        '--broker-id',
        ids().replica,
        '--instance-id',
        `${ids().replica}-2`,
      ],
      env: {
        BROKER_SCRYPT_COST: '1024',
        LOG_LEVEL: 'warn',
        BROKER_NATS_URL: regions.regionB.nats.url,
        BROKER_START_HELD: 'true',
      },
    });
    cleanups.push(() => brokerB.kill('SIGKILL'));
    adminB = adminOf(brokerB);
    await waitFor(
      async () => (await adminB.getRole({}).catch(() => undefined))?.held === true,
      'b up and held',
      20_000,
      100,
    );
    const held = await adminB.getRole({});
    expect(held).toMatchObject({ role: 'PRIMARY', epoch: '2', held: true });
    expect(await stompRefusal(brokerB.endpoints['stomp']!)).toContain('held');

    // Demoted with the new epoch; its tail past the failover point is listed.
    await adminB.setRole({
      role: 'REPLICA',
      epoch: '3',
      primaryRegion: 'region-a',
      primaryBrokerId: ids().primary,
    });
    expect(await stompRefusal(brokerB.endpoints['stomp']!)).toContain(ids().primary);
    const tail = await adminB.listLogEvents({
      generation: failoverPoint.sourceGeneration,
      afterSequence: failoverPoint.sequence,
      maxEvents: 1000,
    });
    expect(tail.events.length).toBeGreaterThan(0);
    expect(tail.events[0]!.sequence).toBe(String(BigInt(failoverPoint.sequence) + 1n));
    const tailMessages = await adminB.listDivergentMessages({
      generation: failoverPoint.sourceGeneration,
      afterSequence: failoverPoint.sequence,
      maxMessages: 100,
    });
    const bodies = tailMessages.messages.map((m) => Buffer.from(m.body).toString());
    expect(bodies).toEqual(['tail-0', 'tail-1', 'tail-2', 'tail-3', 'tail-4']);
    expect(tailMessages.messages[0]!.destination).toBe(queue);

    // b is rebuilt from a's snapshot (its store is not empty: it is replaced).
    const nc = await connect(regions.natsOptionsA(regions.regionA.natsAdmin));
    try {
      const jsm = await nc.jetstreamManager();
      const generation = (await adminA.getRole({})).logGeneration;
      await waitFor(
        async () => {
          const info = await jsm.streams
            .info(replicationStreamName(ids().primary))
            .catch(() => undefined);
          return info?.config.description?.endsWith(`generation ${generation}`) === true;
        },
        "a's new stream",
        15_000,
        100,
      );
      await ensureReplicationConsumer(jsm, ids().primary, ids().replica);
    } finally {
      await nc.close();
    }
    const replicator = await regions.restartReplicator();
    const [a, b] = await settledDigests(adminA, adminB, replicator);
    expect(b.sequence).toBe(a.sequence);
    expect(b.digest, 'b resynced from a').toBe(a.digest);
    expect(b.messages).toBe(a.messages);
  });

  it('fails back a → b by a second switchover without a snapshot', async () => {
    const adminA = regions.regionA.admin;
    const demotion = await adminA.beginDemotion({
      promotionId: 'failback-1',
      nextEpoch: '4',
      newPrimaryRegion: 'region-b',
      newPrimaryBrokerId: ids().replica,
    });
    await regions.waitForSequence(BigInt(demotion.sequence));
    await regions.killReplicator();
    await adminB.setRole({
      role: 'PRIMARY',
      epoch: '4',
      dataReplicationMode: 'CRDR',
      logStart: 'EMPTY',
    });
    await adminA.setRole({
      role: 'REPLICA',
      epoch: '4',
      primaryRegion: 'region-b',
      primaryBrokerId: ids().replica,
    });
    const roleB = await adminB.getRole({});
    const events = await adminB.listLogEvents({
      generation: roleB.logGeneration,
      afterSequence: '0',
      maxEvents: 10,
    });
    expect(events.events.map((e) => e.type)).toEqual(['LOG_STARTED']);

    reverse = await startReplicator(
      ids().replica,
      ids().primary,
      regions.regionA.database.url,
      regions.regionB.nats.url,
    );
    const producer = await connectStomp({
      ...hostPort(brokerB.endpoints['stomp']!),
      login: credentials.username,
      passcode: credentials.password,
    });
    await producer.send(queue, 'after-failback', { persistent: 'true' });
    await producer.disconnect();
    const [b, a] = await settledDigests(adminB, adminA, reverse);
    expect(a.digest, 'a follows b again, with no resync').toBe(b.digest);
    expect(Number(a.messages)).toBeGreaterThan(0);
  });
});
