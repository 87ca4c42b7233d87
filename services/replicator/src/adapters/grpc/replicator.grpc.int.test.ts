import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { createClient, loadProto } from '@crdr/proto';
import { createTestDatabase, hostPort } from '@crdr/testing';
import { TestLog, uniqueBrokerIds } from '../replication-log.test-helper.js';
import { startReplicator, waitForState } from '../replicator.test-helper.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function setup(prefix: string) {
  const ids = uniqueBrokerIds(prefix);
  const log = await TestLog.create(ids.primary);
  const database = await createTestDatabase('replicator_grpc');
  cleanups.push(
    () => log.close(),
    () => database.drop(),
  );
  const replicator = await startReplicator(ids, database.url);
  cleanups.push(() => replicator.stop());
  const { host, port } = hostPort(replicator.grpc);
  const client = createClient(loadProto().crdr.replicator.v1.ReplicatorService, `${host}:${port}`, {
    deadlineMs: 15_000,
  });
  cleanups.push(() => Promise.resolve(client.close()));
  return { ids, log, replicator, client, address: `${host}:${port}` };
}

describe('ReplicatorService over gRPC', () => {
  it('reports status, waits for sequences, pauses and resumes', async () => {
    const { ids, log, client } = await setup('grpc');
    for (let i = 0; i < 3; i++) await log.publish({ heartbeat: {} });

    expect(await client.waitForSequence({ sequence: '3', timeoutMs: 10_000 })).toEqual({
      appliedSequence: '3',
    });
    const status = await client.getStatus({});
    expect(status).toMatchObject({
      state: 'RUNNING',
      primaryBrokerId: ids.primary,
      replicaBrokerId: ids.replica,
      appliedSequence: '3',
      appliedEpoch: '1',
      pendingCount: '0',
      lastKnownSequence: '3',
      error: '',
    });
    expect(Number(status.lastAppliedAtMs)).toBeGreaterThanOrEqual(Number(status.lastCreatedAtMs));
    expect(Number(status.lastCreatedAtMs)).toBeGreaterThan(0);

    await expect(client.waitForSequence({ sequence: '4', timeoutMs: 200 })).rejects.toMatchObject({
      code: 'DeadlineExceeded',
    });

    await client.pause({});
    expect((await client.getStatus({})).state).toBe('PAUSED');
    await log.publish({ heartbeat: {} });
    await log.publish({ heartbeat: {} });
    await new Promise((r) => setTimeout(r, 300));
    const paused = await client.getStatus({});
    expect(paused).toMatchObject({ state: 'PAUSED', appliedSequence: '3', pendingCount: '2' });
    expect(paused.lastKnownSequence).toBe('5');

    const waiting = client.waitForSequence({ sequence: '5', timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await client.resume({});
    expect(await waiting).toEqual({ appliedSequence: '5' });
    expect(await client.getStatus({})).toMatchObject({
      state: 'RUNNING',
      appliedSequence: '5',
      pendingCount: '0',
    });
    // Pause and resume are idempotent.
    await client.resume({});
    await client.pause({});
    await client.pause({});
    await client.resume({});
    await log.publish({ heartbeat: {} });
    expect(await client.waitForSequence({ sequence: '6', timeoutMs: 10_000 })).toEqual({
      appliedSequence: '6',
    });
  });

  it('answers FailedPrecondition to WaitForSequence once FAILED, with the reason in GetStatus', async () => {
    const { log, replicator, client } = await setup('grpcfail');
    await log.publish({ heartbeat: {} });
    log.events.sequence++;
    await log.publish({ heartbeat: {} });
    const pending = client.waitForSequence({ sequence: '3', timeoutMs: 10_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitForState(replicator, 'FAILED');
    expect(await pending).toMatchObject({ code: 'FailedPrecondition' });
    await expect(client.waitForSequence({ sequence: '1', timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'FailedPrecondition',
      message: expect.stringMatching(/expected sequence 2, received 3/),
    });
    expect(await client.getStatus({})).toMatchObject({
      state: 'FAILED',
      appliedSequence: '1',
      error: expect.stringMatching(/^sequence gap: expected sequence 2, received 3/),
    });
  });

  it('serves the standard health service', async () => {
    const { address } = await setup('grpchealth');
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    cleanups.push(() => Promise.resolve(raw.close()));
    const response = await new Promise<Buffer>((resolve, reject) =>
      raw.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        () => Buffer.alloc(0),
        (bytes: Buffer) => bytes,
        {},
        (error, value) => (error ? reject(error) : resolve(value!)),
      ),
    );
    // HealthCheckResponse { status: SERVING (1) }
    expect([...response]).toEqual([0x08, 0x01]);
  });
});
