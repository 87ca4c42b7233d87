import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import type { BrokerProcessSpec } from './provisioner.js';
import { createStaticProvisioner } from './static-provisioner.js';

const spec = (deploymentMode: BrokerProcessSpec['deploymentMode']): BrokerProcessSpec => ({
  brokerId: 'orders',
  brokerName: 'orders',
  region: 'region-a',
  deploymentMode,
  hostInstanceType: 'mq.m5.large',
  dbUrl: 'postgres://unused/db',
  env: {},
});

const instance = (n: number) => ({
  instanceId: `orders-${n}`,
  stomp: `10.0.0.${n}:61613`,
  ws: `10.0.0.${n}:61614`,
  grpc: `10.0.0.${n}:61617`,
});

describe('static provisioner', () => {
  it('waits for as many registered instances as the deployment mode needs, most recent first', async () => {
    const provisioner = createStaticProvisioner({ registerTimeoutMs: 5_000 });
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const starting = provisioner.startBroker(spec('ACTIVE_STANDBY_MULTI_AZ'));
    await provisioner.register('orders', instance(1));
    await pause();
    await provisioner.register('orders', instance(3));
    expect((await starting).map((i) => i.instanceId)).toEqual(['orders-1', 'orders-3']);
    // orders-1 was replaced by orders-2: the two seen last are the deployment's current pair.
    await pause();
    await provisioner.register('orders', instance(2));
    expect(
      (await provisioner.startBroker(spec('ACTIVE_STANDBY_MULTI_AZ'))).map((i) => i.instanceId),
    ).toEqual(['orders-2', 'orders-3']);
    expect(
      (await provisioner.startBroker(spec('SINGLE_INSTANCE'))).map((i) => i.instanceId),
    ).toEqual(['orders-2']);
    await provisioner.forget('orders');
    expect(await provisioner.brokerInstances('orders')).toEqual([]);
  });

  it('names what is missing when the instances do not register in time', async () => {
    const provisioner = createStaticProvisioner({ registerTimeoutMs: 50 });
    const error = await provisioner.startBroker(spec('SINGLE_INSTANCE')).catch((e: unknown) => e);
    expect(hasErrorCode(error, 'DeadlineExceeded')).toBe(true);
    expect((error as Error).message).toContain('0 of 1 instances registered');
    expect((error as Error).message).toContain('BROKER_ID=orders');
  });

  it('reports the configured replicator, and names the setting when there is none', async () => {
    const provisioner = createStaticProvisioner({
      registerTimeoutMs: 50,
      replicators: { 'orders-b': 'replicator-b:50053' },
    });
    const started = await provisioner.startReplicator({
      replicaBrokerId: 'orders-b',
      primaryBrokerId: 'orders-a',
      env: {},
    });
    expect(started.grpc).toBe('replicator-b:50053');
    expect(await provisioner.replicator('orders-b')).toEqual({ grpc: 'replicator-b:50053' });
    expect(await provisioner.replicator('toString')).toBeUndefined();
    const error = await provisioner
      .startReplicator({ replicaBrokerId: 'other', primaryBrokerId: 'orders-a', env: {} })
      .catch((e: unknown) => e);
    expect(hasErrorCode(error, 'FailedPrecondition')).toBe(true);
    expect((error as Error).message).toContain('CONTROL_PLANE_STATIC_REPLICATORS');
    expect((error as Error).message).toContain('REPLICATOR_REPLICA_BROKER_ID=other');
  });
});
