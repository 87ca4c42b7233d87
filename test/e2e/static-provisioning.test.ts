import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { connectStomp } from '@crdr/stomp';
import { createPool } from '@crdr/store';
import {
  createTestDatabase,
  freePort,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
} from '@crdr/testing';

// Static provisioning end to end, as docker-compose or Kubernetes runs it: a control plane with
// CONTROL_PLANE_PROVISIONER=static and broker processes started beside it with a fixed
// BROKER_ID and BROKER_CONTROL_PLANE, which register themselves. CreateBroker binds them by
// name; the broker stays RUNNING with its endpoints across a `kill -9` of the control plane.

type ControlPlaneProto = ProtoGrpcType['crdr']['controlplane']['v1'];
type Client = ClientOf<ControlPlaneProto['ControlPlaneService']>;
type InternalClient = ClientOf<ControlPlaneProto['ControlPlaneInternalService']>;

const region = 'region-a';
const adminUser = `crdr-cp-${region}`;
const adminPassword = 'static-admin-secret-0123';
const brokerName = 'orders';
const appUser = { username: 'app', password: 'app-password-123' };

let cpDatabase: TestDatabase;
let brokerDatabase: TestDatabase;
let stateDir: string;
let cpPort: number;
let controlPlane: ServiceProcess | undefined;
let client: Client | undefined;
const brokers: ServiceProcess[] = [];

async function startControlPlane(): Promise<ServiceProcess> {
  const cp = await startServiceProcess({
    entry: 'services/control-plane/src/main.ts',
    env: {
      CONTROL_PLANE_REGION: region,
      CONTROL_PLANE_GRPC_PORT: String(cpPort),
      CONTROL_PLANE_DB_URL: cpDatabase.url,
      CONTROL_PLANE_PROVISIONER: 'static',
      CONTROL_PLANE_BROKER_ADMIN_PASSWORD: adminPassword,
      CONTROL_PLANE_STATE_DIR: stateDir,
      CONTROL_PLANE_STATIC_REGISTER_TIMEOUT_MS: '60000',
      CONTROL_PLANE_BROKER_READY_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'info',
    },
  });
  controlPlane = cp;
  return cp;
}

function startBroker(instance: number, password = adminPassword): Promise<ServiceProcess> {
  return startServiceProcess({
    entry: 'services/broker/src/main.ts',
    env: {
      BROKER_ID: brokerName,
      BROKER_INSTANCE_ID: `${brokerName}-${instance}`,
      BROKER_DB_URL: brokerDatabase.url,
      BROKER_STOMP_PORT: '0',
      BROKER_WS_PORT: '0',
      BROKER_GRPC_PORT: '0',
      BROKER_SCRYPT_COST: '1024',
      BROKER_USERS: '',
      BROKER_CONTROL_PLANE: `127.0.0.1:${cpPort}`,
      BROKER_CONTROL_PLANE_USER: adminUser,
      BROKER_CONTROL_PLANE_PASSWORD: password,
      BROKER_CONTROL_PLANE_HEARTBEAT_MS: '1000',
      LOG_LEVEL: 'info',
    },
  }).then((broker) => {
    brokers.push(broker);
    return broker;
  });
}

const internalClient = (credentials?: { username: string; password: string }): InternalClient =>
  createClient(
    loadProto().crdr.controlplane.v1.ControlPlaneInternalService,
    `127.0.0.1:${cpPort}`,
    credentials === undefined ? { deadlineMs: 10_000 } : { credentials, deadlineMs: 10_000 },
  );

async function refusal(call: Promise<unknown>): Promise<Error> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (outcome === undefined) throw new Error('the call was expected to fail');
  return outcome;
}

/** host:port endpoints of the broker processes, as they printed them. */
const printedEndpoints = (): string[] =>
  brokers
    .slice(0, 2)
    .flatMap((b) => [b.endpoints['stomp']!, b.endpoints['ws']!, b.endpoints['grpc']!])
    .sort();

async function waitRunning(what: string): Promise<void> {
  let last = '';
  try {
    await waitFor(
      async () => {
        const described = await client!.describeBroker({ brokerId: brokerName });
        last = `${described.brokerState} ${described.brokerStateReason}`;
        return described.brokerState === 'RUNNING';
      },
      what,
      45_000,
      250,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last state: ${last}\n` +
        `control plane log:\n${controlPlane?.logs().slice(-3000) ?? ''}`,
      { cause: error },
    );
  }
}

beforeAll(async () => {
  cpDatabase = await createTestDatabase('cp_static');
  brokerDatabase = await createTestDatabase('static_broker');
  stateDir = await mkdtemp(join(tmpdir(), 'crdr-cp-static-'));
  cpPort = await freePort();
  await startControlPlane();
  client = createClient(
    loadProto().crdr.controlplane.v1.ControlPlaneService,
    `127.0.0.1:${cpPort}`,
    {
      deadlineMs: 30_000,
    },
  );
  // As compose does: the brokers run before anyone calls CreateBroker.
  await Promise.all([startBroker(1), startBroker(2)]);
}, 180_000);

afterAll(async () => {
  client?.close();
  await Promise.allSettled(brokers.map((b) => b.kill('SIGKILL')));
  await controlPlane?.kill('SIGKILL');
  await cpDatabase?.drop().catch(() => undefined);
  await brokerDatabase?.drop().catch(() => undefined);
  if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
});

describe('static provisioning', () => {
  it('refuses registrations with bad credentials or an unknown broker id, naming why', async () => {
    const good = internalClient({ username: adminUser, password: adminPassword });
    const bad = internalClient({ username: adminUser, password: 'not-the-password' });
    const anonymous = internalClient();
    const request = {
      brokerId: 'nobody',
      instanceId: 'nobody-1',
      stomp: '127.0.0.1:1',
      ws: '127.0.0.1:2',
      grpc: '127.0.0.1:3',
    };
    try {
      const unknown = await refusal(good.registerBrokerInstance(request));
      expect(hasErrorCode(unknown, 'NotFound')).toBe(true);
      expect(unknown.message).toContain('broker nobody is not known to this control plane');
      expect(unknown.message).toContain('--broker-name nobody');

      const wrong = await refusal(bad.registerBrokerInstance(request));
      expect(hasErrorCode(wrong, 'Unauthenticated')).toBe(true);
      expect(wrong.message).toContain('bad credentials');
      expect(wrong.message).toContain('CONTROL_PLANE_BROKER_ADMIN_PASSWORD');

      const none = await refusal(anonymous.registerBrokerInstance(request));
      expect(hasErrorCode(none, 'Unauthenticated')).toBe(true);
      expect(none.message).toContain('BROKER_CONTROL_PLANE_USER');

      const malformed = await refusal(
        good.registerBrokerInstance({ ...request, grpc: 'grpc://nowhere' }),
      );
      expect(hasErrorCode(malformed, 'BadRequest')).toBe(true);
      expect(malformed.message).toContain('invalid grpc');
    } finally {
      good.close();
      bad.close();
      anonymous.close();
    }
    // The brokers, started before CreateBroker, were told the same and keep retrying.
    await waitFor(
      () => Promise.resolve(brokers[0]!.logs().includes('is not known to this control plane')),
      'the broker to log the NotFound refusal',
      20_000,
      200,
    );
  });

  it('binds the brokers by name: RUNNING with the registered endpoints, administered with the shared user', async () => {
    const created = await client!.createBroker({
      brokerName,
      engineType: 'ACTIVEMQ',
      engineVersion: '5.18.4',
      hostInstanceType: 'mq.m5.large',
      deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      // The default authorization rules let a user without console access use its groups'
      // namespaces: apps.StaticQueue is the apps group's.
      users: [{ ...appUser, consoleAccess: false, groups: ['apps'], replicationUser: false }],
    });
    expect(created.brokerId).toBe(brokerName);
    expect(created.brokerArn).toContain(`:broker:${brokerName}:${brokerName}`);
    await waitRunning('the static broker to be RUNNING');

    const described = await client!.describeBroker({ brokerId: brokerName });
    expect(described.brokerInstances).toHaveLength(2);
    expect(described.brokerInstances.flatMap((i) => i.endpoints).sort()).toEqual(
      printedEndpoints(),
    );
    // The control plane created the API's user through the broker's admin API with the shared
    // console user: the app connects with it.
    let connected = false;
    for (const endpoint of described.brokerInstances.flatMap((i) => i.endpoints)) {
      if (!endpoint.startsWith('stomp://')) continue;
      const url = new URL(endpoint.replace(/^stomp:/, 'http:'));
      try {
        const stomp = await connectStomp({
          host: url.hostname,
          port: Number(url.port),
          login: appUser.username,
          passcode: appUser.password,
          connectTimeoutMs: 5_000,
        });
        await stomp.send(
          '/queue/apps.StaticQueue',
          'hello',
          { persistent: true },
          { receipt: true },
        );
        await stomp.disconnect();
        connected = true;
      } catch {
        // The standby instance refuses clients; the active one accepts.
      }
    }
    expect(connected).toBe(true);

    const again = await refusal(
      client!.createBroker({
        brokerName,
        engineType: 'ACTIVEMQ',
        engineVersion: '5.18.4',
        hostInstanceType: 'mq.m5.large',
        deploymentMode: 'SINGLE_INSTANCE',
        users: [{ ...appUser, consoleAccess: false, groups: [], replicationUser: false }],
      }),
    );
    expect(hasErrorCode(again, 'Conflict')).toBe(true);
    expect(again.message).toContain(`broker ${brokerName} already exists`);
  });

  it('a broker with the wrong password logs the refusal and is never registered', async () => {
    const intruder = await startBroker(3, 'wrong-password-0000');
    await waitFor(
      () => Promise.resolve(intruder.logs().includes('bad credentials')),
      'the broker with the wrong password to log the refusal',
      20_000,
      200,
    );
    expect(intruder.logs()).toContain('the control plane refused the registration');
    const pool = createPool(cpDatabase.url);
    try {
      const { rows } = await pool.query<{ instance_id: string }>(
        'SELECT instance_id FROM static_broker_instances ORDER BY instance_id',
      );
      expect(rows.map((r) => r.instance_id)).toEqual([`${brokerName}-1`, `${brokerName}-2`]);
    } finally {
      await pool.end();
    }
    await intruder.kill('SIGKILL');
  });

  it('survives kill -9 of the control plane: still RUNNING, re-registered, and it reboots', async () => {
    const before = await client!.describeBroker({ brokerId: brokerName });
    await controlPlane!.kill('SIGKILL');
    const restartedAt = new Date();
    await startControlPlane();

    const after = await client!.describeBroker({ brokerId: brokerName });
    expect(after.brokerState).toBe('RUNNING');
    expect(after.brokerInstances).toEqual(before.brokerInstances);

    // The brokers' heartbeats reach the new process.
    const pool = createPool(cpDatabase.url);
    try {
      await waitFor(
        async () => {
          const { rows } = await pool.query<{ n: string | number | bigint }>(
            'SELECT count(*) AS n FROM static_broker_instances WHERE last_seen > $1',
            [restartedAt],
          );
          return Number(rows[0]!.n) === 2;
        },
        'both instances to re-register with the restarted control plane',
        20_000,
        250,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\nbroker log:\n${brokers[0]!.logs().slice(-3000)}`,
        { cause: error },
      );
    } finally {
      await pool.end();
    }

    // A reboot needs the registered instances: the restarted control plane has them.
    await client!.rebootBroker({ brokerId: brokerName });
    await waitRunning('the static broker to be RUNNING again after the reboot');
    const rebooted = await client!.describeBroker({ brokerId: brokerName });
    expect(rebooted.brokerInstances.flatMap((i) => i.endpoints).sort()).toEqual(printedEndpoints());
  });

  it('follows instances the orchestrator restarted on new addresses: re-registered, described and serving without a reboot', async () => {
    // What a restart policy does after a crash of both (a node lost, a pod replaced with a new
    // IP): the same BROKER_ID and instance ids, started again; here on new ports.
    const old = brokers.splice(0, 2);
    await Promise.all(old.map((b) => b.kill('SIGKILL')));
    const restarted = await Promise.all([startBroker(1), startBroker(2)]);
    brokers.splice(brokers.indexOf(restarted[0]), 1);
    brokers.splice(brokers.indexOf(restarted[1]), 1);
    brokers.unshift(...restarted);
    const expected = printedEndpoints();
    expect(expected).not.toEqual(
      old.flatMap((b) => [b.endpoints['stomp']!, b.endpoints['ws']!, b.endpoints['grpc']!]).sort(),
    );

    let last: unknown;
    await waitFor(
      async () => {
        const described = await client!.describeBroker({ brokerId: brokerName });
        last = described;
        const endpoints = described.brokerInstances.flatMap((i) => i.endpoints).sort();
        const states = described.brokerInstances.map((i) => i.instanceState).sort();
        return (
          described.brokerState === 'RUNNING' &&
          JSON.stringify(endpoints) === JSON.stringify(expected) &&
          JSON.stringify(states) === JSON.stringify(['ACTIVE', 'STANDBY'])
        );
      },
      'DescribeBroker to show the restarted instances, one ACTIVE and one STANDBY',
      60_000,
      250,
    ).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}; last: ${JSON.stringify(last)}\n` +
          `control plane log:\n${controlPlane?.logs().slice(-3000) ?? ''}`,
        { cause: error },
      );
    });

    // The message sent before the crash is still there, served on the new endpoints.
    const described = await client!.describeBroker({ brokerId: brokerName });
    const bodies: string[] = [];
    for (const endpoint of described.brokerInstances.flatMap((i) => i.endpoints)) {
      if (!endpoint.startsWith('stomp://')) continue;
      const url = new URL(endpoint.replace(/^stomp:/, 'http:'));
      const stomp = await connectStomp({
        host: url.hostname,
        port: Number(url.port),
        login: appUser.username,
        passcode: appUser.password,
        connectTimeoutMs: 5_000,
      }).catch(() => undefined);
      if (stomp === undefined) continue; // The standby refuses clients.
      try {
        await stomp.subscribe('/queue/apps.StaticQueue', (m) => bodies.push(m.body.toString()));
        await waitFor(() => bodies.length > 0, 'the message sent before the restart', 30_000);
      } finally {
        await stomp.disconnect();
      }
    }
    expect(bodies).toEqual(['hello']);
  });
});
