/**
 * `pnpm demo` (or `./dev demo`): the seed walkthrough (Amazon MQ cross-Region data replication)
 * end to end against the local stack, starting the stack when it is not running. It prints each
 * step with the `pnpm mqctl` command that does the same, and whether it held; it exits non-zero
 * when one did not.
 *
 *   primary in region-a → replica in region-b → reboot the primary to start replication →
 *   10 messages to TestQueue on the primary → the replica refuses a client → switchover from
 *   region-b → the 10 messages read from the new primary.
 *
 * `--keep` leaves the demo's brokers running afterwards (to look at them with mqctl or the
 * console); by default they are unpaired and deleted at the end.
 */
import { createClient, loadProto, type controlPlaneV1 } from '@crdr/proto';
import { stackUp, type StackEndpoints } from '@crdr/stack';
import { connectStomp, isStompServerError, type StompClient, type StompMessage } from '@crdr/stomp';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type ControlPlane = ReturnType<typeof controlPlaneClient>;
const controlPlaneClient = (address: string) =>
  createClient(loadProto().crdr.controlplane.v1.ControlPlaneService, address, {
    deadlineMs: 30_000,
  });
type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const runId = Date.now().toString(36);
const adminUser = { username: 'admin', password: 'demo-admin-password' };
const replicationUser = { username: 'replicator', password: 'demo-replication-password' };
let failures = 0;

async function step<T>(
  title: string,
  command: string | undefined,
  work: () => Promise<T>,
  show?: (value: T) => string,
): Promise<T> {
  process.stdout.write(`• ${title}${command === undefined ? '' : `\n    $ ${command}`}\n`);
  const started = Date.now();
  try {
    const value = await work();
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    process.stdout.write(`    ... ok (${took})${show === undefined ? '' : `: ${show(value)}`}\n`);
    return value;
  } catch (error) {
    failures++;
    process.stdout.write(`    ... FAILED: ${(error as Error).message}\n`);
    throw error;
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls DescribeBroker until `done` holds; the error names the last state seen. */
async function waitForBroker(
  client: ControlPlane,
  brokerId: string,
  done: (broker: Broker) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<Broker> {
  const deadline = Date.now() + timeoutMs;
  let last: Broker | undefined;
  while (Date.now() < deadline) {
    const broker = await client.describeBroker({ brokerId });
    last = broker;
    if (done(broker)) return broker;
    if (broker.brokerState === 'CREATION_FAILED') {
      throw new Error(`${brokerId} CREATION_FAILED: ${broker.brokerStateReason}`);
    }
    await sleep(250);
  }
  throw new Error(
    `${brokerId} not ${what} after ${timeoutMs / 1000} s: state ${last?.brokerState}, ` +
      `replication ${last?.dataReplicationMetadata?.replicationStatus ?? '-'}` +
      `${last?.dataReplicationMetadata?.promotion ? `, step ${last.dataReplicationMetadata.promotion.step}` : ''}`,
  );
}

/** The serving instance's STOMP address; any instance's when none serves (a replica's). */
/** The broker's STOMP endpoints, the ACTIVE instance's first. */
function stompEndpoints(broker: Broker): Array<{ host: string; port: number }> {
  const instances = [...broker.brokerInstances].sort(
    (a, b) => Number(b.instanceState === 'ACTIVE') - Number(a.instanceState === 'ACTIVE'),
  );
  const endpoints = instances.flatMap((instance) =>
    instance.endpoints
      .filter((e) => e.startsWith('stomp://'))
      .map((e) => {
        const url = new URL(e);
        return { host: url.hostname, port: Number(url.port) };
      }),
  );
  if (endpoints.length === 0) throw new Error(`${broker.brokerId} shows no STOMP endpoint`);
  return endpoints;
}

/**
 * Connects as a client with a failover list of the broker's instances does: an instance that
 * does not listen (a standby) is skipped; the first that answers, with CONNECTED or an ERROR,
 * decides.
 */
async function connectToBroker(
  broker: Broker,
  credentials: { login: string; passcode: string },
): Promise<StompClient> {
  let refused: unknown;
  for (const endpoint of stompEndpoints(broker)) {
    try {
      return await connectStomp({ ...endpoint, ...credentials });
    } catch (error) {
      if (isStompServerError(error)) throw error;
      refused = error;
    }
  }
  throw refused;
}

const replicationStatus = (broker: Broker) => broker.dataReplicationMetadata?.replicationStatus;

async function main(): Promise<void> {
  const endpoints: StackEndpoints = await step(
    'start the local stack: two Regions, each with NATS, a control plane and a metrics service',
    'pnpm stack up',
    () =>
      stackUp({
        root,
        env: process.env,
        progress: (line) => process.stdout.write(`      ${line}\n`),
      }),
    (e) =>
      `\n      region-a control plane ${e.regions['region-a'].controlPlane}, console ${e.regions['region-a'].console}` +
      `\n      region-b control plane ${e.regions['region-b'].controlPlane}, console ${e.regions['region-b'].console}`,
  );
  const regionA = controlPlaneClient(endpoints.regions['region-a'].controlPlane);
  const regionB = controlPlaneClient(endpoints.regions['region-b'].controlPlane);
  const users = [
    { ...adminUser, consoleAccess: true },
    { ...replicationUser, replicationUser: true },
  ];
  const usersFlag =
    `--users Username=${adminUser.username},Password=${adminUser.password},ConsoleAccess=true ` +
    `Username=${replicationUser.username},Password=${replicationUser.password},ReplicationUser=true`;
  const primaryName = `demo-primary-${runId}`;
  const replicaName = `demo-replica-${runId}`;

  const primary = await step(
    'create the primary broker in region-a (ActiveMQ 5.18, mq.m5.large, active/standby)',
    `pnpm mqctl --region region-a create-broker --broker-name ${primaryName} --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode ACTIVE_STANDBY_MULTI_AZ ${usersFlag}`,
    async () => {
      const created = await regionA.createBroker({
        brokerName: primaryName,
        engineType: 'ACTIVEMQ',
        engineVersion: '5.18.4',
        hostInstanceType: 'mq.m5.large',
        deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
        users,
      });
      return waitForBroker(
        regionA,
        created.brokerId,
        (b) => b.brokerState === 'RUNNING',
        'RUNNING',
      );
    },
    (b) => `${b.brokerId} RUNNING, ${b.brokerArn}`,
  );

  const replica = await step(
    'create its replica in region-b (DataReplicationMode CRDR, the primary named by ARN)',
    `pnpm mqctl --region region-b create-broker --broker-name ${replicaName} ... --data-replication-mode CRDR --data-replication-primary-broker-arn ${primary.brokerArn}`,
    async () => {
      const created = await regionB.createBroker({
        brokerName: replicaName,
        engineType: 'ACTIVEMQ',
        engineVersion: '5.18.4',
        hostInstanceType: 'mq.m5.large',
        deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
        users,
        dataReplicationMode: 'CRDR',
        dataReplicationPrimaryBrokerArn: primary.brokerArn,
      });
      return waitForBroker(
        regionB,
        created.brokerId,
        (b) => b.brokerState === 'REPLICA',
        'created',
      );
    },
    (b) => `${b.brokerId} ${b.brokerState}, role ${b.dataReplicationMetadata?.dataReplicationRole}`,
  );

  await step(
    'the primary waits for a reboot to apply its pending data replication mode',
    `pnpm mqctl --region region-a describe-broker --broker-id ${primary.brokerId}`,
    async () => {
      const b = await regionA.describeBroker({ brokerId: primary.brokerId });
      check(
        b.pendingDataReplicationMode === 'CRDR',
        `PendingDataReplicationMode is ${JSON.stringify(b.pendingDataReplicationMode)}, expected CRDR`,
      );
      return b;
    },
    (b) =>
      `DataReplicationMode ${b.dataReplicationMode}, PendingDataReplicationMode ${b.pendingDataReplicationMode}`,
  );

  await step(
    'reboot the primary to start replication',
    `pnpm mqctl --region region-a reboot-broker --broker-id ${primary.brokerId}`,
    async () => {
      await regionA.rebootBroker({ brokerId: primary.brokerId });
      await waitForBroker(
        regionA,
        primary.brokerId,
        (b) => b.brokerState === 'RUNNING' && b.dataReplicationMode === 'CRDR',
        'rebooted with CRDR',
      );
      return waitForBroker(
        regionB,
        replica.brokerId,
        (b) => replicationStatus(b) === 'REPLICATING',
        'REPLICATING',
      );
    },
    (b) => `replica ${b.brokerId}: ${replicationStatus(b)}`,
  );

  const bodies = Array.from({ length: 10 }, (_, i) => `CRDR test message ${i + 1}`);
  await step(
    'send 10 persistent messages to TestQueue on the primary (a RECEIPT for each)',
    undefined,
    async () => {
      const described = await regionA.describeBroker({ brokerId: primary.brokerId });
      const client = await connectToBroker(described, {
        login: adminUser.username,
        passcode: adminUser.password,
      });
      try {
        for (const body of bodies)
          await client.send('/queue/TestQueue', body, { persistent: 'true' });
      } finally {
        await client.disconnect();
      }
    },
  );

  await step(
    'a client connecting to the replica is refused, with the primary named',
    undefined,
    async () => {
      const described = await regionB.describeBroker({ brokerId: replica.brokerId });
      try {
        const client = await connectToBroker(described, {
          login: adminUser.username,
          passcode: adminUser.password,
        });
        client.destroy();
      } catch (error) {
        if (isStompServerError(error)) return error.headers['message'] ?? '';
        throw error;
      }
      throw new Error('the replica accepted a client');
    },
    (message) => `ERROR "${message}"`,
  );

  await step(
    'promote the replica from region-b by switchover (no message lost, states identical)',
    `pnpm mqctl --region region-b promote --broker-id ${replica.brokerId} --mode SWITCHOVER --wait`,
    async () => {
      await regionB.promote({ brokerId: replica.brokerId, mode: 'SWITCHOVER' });
      return waitForBroker(
        regionB,
        replica.brokerId,
        (b) =>
          replicationStatus(b) === 'PROMOTED' ||
          (b.dataReplicationMetadata?.dataReplicationRole === 'PRIMARY' &&
            replicationStatus(b) === 'REPLICATING'),
        'promoted',
      );
    },
    (b) => `${b.brokerId} is now ${b.dataReplicationMetadata?.dataReplicationRole}`,
  );

  await step(
    'read the 10 messages from the new primary in region-b',
    undefined,
    async () => {
      const described = await regionB.describeBroker({ brokerId: replica.brokerId });
      const consumer = await connectToBroker(described, {
        login: adminUser.username,
        passcode: adminUser.password,
      });
      const received: string[] = [];
      try {
        await new Promise<void>((done, fail) => {
          const timer = setTimeout(
            () => fail(new Error(`only ${received.length} of 10 arrived: ${received.join(', ')}`)),
            15_000,
          );
          void consumer.subscribe(
            '/queue/TestQueue',
            (message: StompMessage) => {
              received.push(message.body.toString());
              void message.ack();
              if (received.length === bodies.length) {
                clearTimeout(timer);
                done();
              }
            },
            { ack: 'client-individual' },
          );
        });
      } finally {
        await consumer.disconnect();
      }
      check(
        received.every((body, i) => body === bodies[i]),
        `got ${received.join(', ')}`,
      );
      return received;
    },
    (received) => `"${received[0]}" ... "${received[9]}"`,
  );

  if (!keep) {
    await step(
      'clean up: unpair (update-broker --data-replication-mode NONE, reboot both) and delete both brokers',
      undefined,
      async () => {
        await regionB.updateBroker({ brokerId: replica.brokerId, dataReplicationMode: 'NONE' });
        await regionB.rebootBroker({ brokerId: replica.brokerId });
        await waitForBroker(
          regionB,
          replica.brokerId,
          (b) => b.brokerState === 'RUNNING' && b.dataReplicationMode === 'NONE',
          'unpaired',
        );
        await waitForBroker(
          regionA,
          primary.brokerId,
          (b) => b.brokerState === 'RUNNING' && b.dataReplicationMode === 'NONE',
          'unpaired',
        );
        await regionB.deleteBroker({ brokerId: replica.brokerId });
        await regionA.deleteBroker({ brokerId: primary.brokerId });
      },
    );
  }
  regionA.close();
  regionB.close();
}

main().then(
  () => {
    console.log(
      failures === 0
        ? `\nThe walkthrough held at every step.${keep ? ' The brokers are still running (--keep); `pnpm stack down` stops everything.' : ''}`
        : `\n${failures} step(s) failed.`,
    );
    process.exit(failures === 0 ? 0 : 1);
  },
  (error: unknown) => {
    if (failures === 0) console.error(error);
    console.log('\nThe walkthrough did not hold; logs are under .stack/logs/.');
    process.exit(1);
  },
);
