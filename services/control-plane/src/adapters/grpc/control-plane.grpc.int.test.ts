import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCrdrError } from '@crdr/errors';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, waitFor, type TestDatabase } from '@crdr/testing';
import { loadConfig } from '../../config.js';
import { createServer, type ControlPlaneServer } from '../../server.js';

// The API's answers to bad input, against the real gRPC server and Postgres registry. Static
// provisioning: no broker process registers, so created brokers stay CREATION_IN_PROGRESS.

type Cp = ProtoGrpcType['crdr']['controlplane']['v1'];
let database: TestDatabase;
let server: ControlPlaneServer;
let client: ClientOf<Cp['ControlPlaneService']>;
let internal: ClientOf<Cp['ControlPlaneInternalService']>;

const valid = {
  brokerName: 'orders',
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
  users: [{ username: 'app', password: 'app-password-1' }],
};

async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (isCrdrError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  database = await createTestDatabase('cp_grpc');
  const config = loadConfig({
    CONTROL_PLANE_REGION: 'region-a',
    CONTROL_PLANE_DB_URL: database.url,
    CONTROL_PLANE_PROVISIONER: 'static',
    CONTROL_PLANE_BROKER_ADMIN_PASSWORD: 'static-admin-password',
    CONTROL_PLANE_PEERS: 'region-b=127.0.0.1:1',
    CONTROL_PLANE_BROKER_READY_TIMEOUT_MS: '2000',
  });
  server = createServer({ config, log: createLogger({ service: 'cp-test', level: 'silent' }) });
  const { grpc } = await server.start();
  const proto = loadProto().crdr.controlplane.v1;
  client = createClient(proto.ControlPlaneService, grpc);
  internal = createClient(proto.ControlPlaneInternalService, grpc, {
    credentials: { username: 'crdr-cp-region-a', password: 'static-admin-password' },
  });
});

afterAll(async () => {
  client.close();
  internal.close();
  await server.stop();
  await database.drop();
});

describe('ControlPlaneService validation', () => {
  it.each([
    [{ brokerName: 'bad name' }, 'broker_name'],
    [{ engineType: 'RABBITMQ' }, 'engine_type'],
    [{ engineVersion: 'latest' }, 'engine_version'],
    [{ hostInstanceType: 'mq.m4.large' }, 'host_instance_type'],
    [{ deploymentMode: 'MULTI' }, 'deployment_mode'],
    [{ users: [{ username: 'app', password: 'short' }] }, 'users.password'],
    [
      { users: [{ username: 'app', password: 'no=equals-sign' }] },
      'commas, colons, or equal signs',
    ],
    [{ dataReplicationMode: 'CRDR' }, 'data_replication_primary_broker_arn'],
    [
      {
        dataReplicationMode: 'CRDR',
        dataReplicationPrimaryBrokerArn: 'arn:mq:region-z:local:broker:x:b-1',
        users: [{ username: 'repl', password: 'repl-password-1', replicationUser: true }],
      },
      'no control plane is known for Region region-z',
    ],
  ])('CreateBroker %j is a BadRequest naming %s', async (change, named) => {
    const { code, message } = await refusal(client.createBroker({ ...valid, ...change }));
    expect(code).toBe('BadRequest');
    expect(message).toContain(named);
  });

  it('names an unknown broker id', async () => {
    for (const call of [
      () => client.describeBroker({ brokerId: 'b-unknown' }),
      () => client.rebootBroker({ brokerId: 'b-unknown' }),
      () => client.deleteBroker({ brokerId: 'b-unknown' }),
      () => client.listUsers({ brokerId: 'b-unknown' }),
    ]) {
      const { code, message } = await refusal(call());
      expect(code).toBe('NotFound');
      expect(message).toContain('b-unknown');
    }
    expect((await refusal(client.describeBroker({ brokerId: '' }))).message).toContain('broker_id');
  });

  it('records a creation, lists it, and names the state that refuses a change', async () => {
    const created = await client.createBroker({ ...valid, creatorRequestId: 'token-1' });
    expect(created.brokerArn).toBe(`arn:mq:region-a:local:broker:orders:${created.brokerId}`);
    // A retried create with the same token is the same broker.
    expect(await client.createBroker({ ...valid, creatorRequestId: 'token-1' })).toEqual(created);
    const described = await client.describeBroker({ brokerId: created.brokerId });
    expect(described).toMatchObject({
      brokerState: 'CREATION_IN_PROGRESS',
      deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      dataReplicationMode: 'NONE',
      region: 'region-a',
      users: [{ username: 'app' }],
    });
    const { brokerSummaries } = await client.listBrokers({});
    expect(brokerSummaries.map((b) => b.brokerId)).toContain(created.brokerId);
    for (const call of [
      () => client.rebootBroker({ brokerId: created.brokerId }),
      () => client.deleteBroker({ brokerId: created.brokerId }),
      () =>
        client.createUser({
          brokerId: created.brokerId,
          username: 'second',
          password: 'second-password',
        }),
    ]) {
      const { code, message } = await refusal(call());
      expect(code).toBe('Conflict');
      expect(message).toContain('CREATION_IN_PROGRESS');
    }
    const update = await refusal(
      client.updateBroker({ brokerId: created.brokerId, dataReplicationMode: 'SYNC' }),
    );
    expect(update.message).toContain('data_replication_mode');
    const { targets } = await internal.listTargets({});
    const target = targets.find((t) => t.brokerId === created.brokerId)!;
    expect(target.adminUsername).toBe('crdr-cp-region-a');
    expect(target.adminPassword.length).toBeGreaterThanOrEqual(12);
  });

  it('registers static instances: the broker gets its endpoints', async () => {
    const created = await client.createBroker({
      ...valid,
      brokerName: 'static',
      deploymentMode: 'SINGLE_INSTANCE',
    });
    const missing = await refusal(
      internal.registerBrokerInstance({ brokerId: created.brokerId, instanceId: 'i-1' }),
    );
    expect(missing.message).toContain('stomp');
    await internal.registerBrokerInstance({
      brokerId: created.brokerId,
      instanceId: `${created.brokerId}-1`,
      stomp: '127.0.0.1:1',
      ws: '127.0.0.1:2',
      grpc: '127.0.0.1:3',
    });
    // No broker listens there: the control plane cannot reach it, so creation fails, naming why.
    await waitFor(
      async () =>
        (await client.describeBroker({ brokerId: created.brokerId })).brokerState !==
        'CREATION_IN_PROGRESS',
      'the creation to settle',
      90_000,
      250,
    );
    const described = await client.describeBroker({ brokerId: created.brokerId });
    expect(described.brokerState).toBe('CREATION_FAILED');
    expect(described.brokerStateReason).toContain('did not answer');
  });
});
