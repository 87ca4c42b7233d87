/**
 * `pnpm demo` (or `./dev demo`): a walk-through of one broker, printing each step and whether
 * it held; exits non-zero when one does not. It starts a standalone broker process on the local
 * Postgres (database `crdr_demo`, recreated), sends 10 persistent messages to TestQueue with a
 * receipt each, reads them back, shows the broker's figures over gRPC, then demotes the broker to
 * a replica to show a client being refused with the primary named, and promotes it back.
 */
import { connectStomp, isStompServerError, type StompMessage } from '@crdr/stomp';
import { createClient, loadProto } from '@crdr/proto';
import { dropDatabase } from '@crdr/store';
import { hostPort, startServiceProcess, type ServiceProcess } from '@crdr/testing';

const pgBase = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbUrl = pgBase.replace(/\/[^/]*$/, '/crdr_demo');
let failures = 0;

async function step<T>(
  title: string,
  work: () => Promise<T>,
  show?: (value: T) => string,
): Promise<T> {
  process.stdout.write(`• ${title} ... `);
  try {
    const value = await work();
    process.stdout.write(`ok${show === undefined ? '' : `: ${show(value)}`}\n`);
    return value;
  } catch (error) {
    failures++;
    process.stdout.write(`FAILED: ${(error as Error).message}\n`);
    throw error;
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

async function main(): Promise<void> {
  let broker: ServiceProcess | undefined;
  try {
    await dropDatabase(dbUrl);
    broker = await step(
      'start a broker (pnpm broker --stomp-port 0 --ws-port 0 --grpc-port 0)',
      () =>
        startServiceProcess({
          entry: 'services/broker/src/main.ts',
          args: [
            '--stomp-port',
            '0',
            '--ws-port',
            '0',
            '--grpc-port',
            '0',
            '--db-url',
            dbUrl,
            '--broker-id',
            'demo-broker',
          ],
          env: { LOG_LEVEL: 'warn' },
        }),
      (b) => Object.values(b.endpoints).join('  '),
    );
    const { host, port } = hostPort(broker.endpoints['stomp']!);
    const grpcAddress = broker.endpoints['grpc']!.replace('grpc://', '');
    const admin = createClient(loadProto().crdr.broker.v1.BrokerAdminService, grpcAddress, {
      credentials: { username: 'admin', password: 'admin' },
    });

    await step('create TestQueue through the gRPC admin API', () =>
      admin.createDestination({ type: 'QUEUE', name: 'TestQueue' }),
    );
    const producer = await connectStomp({ host, port, login: 'admin', passcode: 'admin' });
    await step('send 10 persistent messages to /queue/TestQueue, a RECEIPT for each', async () => {
      for (let i = 1; i <= 10; i++) {
        await producer.send('/queue/TestQueue', `test message ${i}`, { persistent: 'true' });
      }
    });
    await producer.disconnect();
    await step(
      'the broker counts them (GetStats)',
      async () => {
        const stats = await admin.getStats({});
        const queue = stats.destinations.find((d) => d.name === 'TestQueue');
        check(
          queue !== undefined && Number(queue.queueSize) === 10,
          `QueueSize is ${queue?.queueSize}, expected 10`,
        );
        return queue!;
      },
      (q) => `QueueSize ${q.queueSize}, EnqueueCount ${q.enqueueCount}`,
    );
    await step(
      'a consumer reads the 10 messages in order and acknowledges them',
      async () => {
        const consumer = await connectStomp({ host, port, login: 'admin', passcode: 'admin' });
        const bodies: string[] = [];
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`only ${bodies.length} of 10 arrived`)),
            10_000,
          );
          void consumer.subscribe(
            '/queue/TestQueue',
            (message: StompMessage) => {
              bodies.push(message.body.toString());
              void message.ack();
              if (bodies.length === 10) {
                clearTimeout(timer);
                resolve();
              }
            },
            { ack: 'client-individual' },
          );
        });
        await consumer.disconnect();
        check(
          bodies.every((b, i) => b === `test message ${i + 1}`),
          `out of order: ${bodies.join(', ')}`,
        );
        return bodies;
      },
      (bodies) => `"${bodies[0]}" ... "${bodies[9]}"`,
    );
    await step('demote the broker to a replica (SetRole REPLICA, epoch 1)', () =>
      admin.setRole({
        role: 'REPLICA',
        epoch: '1',
        primaryRegion: 'region-b',
        primaryBrokerId: 'other-broker',
      }),
    );
    await step(
      'a client connecting to the replica is refused, with the primary named',
      async () => {
        try {
          const client = await connectStomp({ host, port, login: 'admin', passcode: 'admin' });
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
      'an older epoch cannot change the role back (SetRole PRIMARY, epoch 0)',
      async () => {
        try {
          await admin.setRole({ role: 'PRIMARY', epoch: '0' });
        } catch {
          return;
        }
        throw new Error('a stale epoch was accepted');
      },
    );
    await step('promote it back (SetRole PRIMARY, epoch 2) and connect again', async () => {
      await admin.setRole({ role: 'PRIMARY', epoch: '2' });
      const client = await connectStomp({ host, port, login: 'admin', passcode: 'admin' });
      await client.disconnect();
    });
    admin.close();
  } finally {
    await broker?.kill('SIGTERM');
  }
}

main().then(
  () => {
    console.log(
      failures === 0 ? '\nThe walk-through held at every step.' : `\n${failures} step(s) failed.`,
    );
    process.exit(failures === 0 ? 0 : 1);
  },
  (error: unknown) => {
    if (failures === 0) console.error(error);
    process.exit(1);
  },
);
