import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCrdrError } from '@crdr/errors';
import { isStompServerError } from '@crdr/stomp';
import { startNatsServer, type NatsServerHandle } from '@crdr/testing';
import { startTestBroker, type TestBroker } from '../stomp/broker.test-helper.js';

// What a promotion saga asks of a broker (issue 4, item 5): held start, switchover demotion,
// new logs with or without a snapshot, the failover point and the divergent tail.

let nats: NatsServerHandle;
const brokers: TestBroker[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ serverName: 'promotion-int' });
});

afterAll(async () => {
  for (const broker of brokers) await broker.close().catch(() => undefined);
  await nats?.cleanup();
});

async function broker(name: string, env: Record<string, string> = {}): Promise<TestBroker> {
  const b = await startTestBroker(`promo_${name}`, {
    BROKER_ID: `promo-${name}-${process.pid}`,
    ...env,
  });
  brokers.push(b);
  return b;
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (isCrdrError(error)) return error.code;
    throw error;
  }
  return 'none';
}

async function refusal(b: TestBroker): Promise<string | undefined> {
  try {
    const client = await b.connect();
    client.destroy();
    return undefined;
  } catch (error) {
    if (!isStompServerError(error)) throw error;
    return error.headers['message'] ?? '';
  }
}

describe('a broker started held', () => {
  it('serves no client until a SetRole confirms its role', async () => {
    const b = await broker('held', { BROKER_START_HELD: 'true' });
    const admin = b.server.runtime.engine.admin;
    expect((await admin.promotionState()).held).toBe(true);
    expect(await refusal(b)).toContain('started held');
    await admin.setRole({ role: 'PRIMARY', epoch: 0n });
    expect((await admin.promotionState()).held).toBe(false);
    expect(await refusal(b)).toBeUndefined();
  });
});

describe('switchover demotion', () => {
  let b: TestBroker;

  beforeAll(async () => {
    b = await broker('demote', { BROKER_NATS_URL: nats.url });
  });

  it('refuses a primary without CRDR, then an epoch that is not newer', async () => {
    const admin = b.server.runtime.engine.admin;
    const request = { promotionId: 'p-1', nextEpoch: 2n, timeoutMs: 10_000 };
    expect(await codeOf(admin.beginDemotion(request))).toBe('FailedPrecondition');
    await admin.setRole({ role: 'PRIMARY', epoch: 1n, dataReplicationMode: 'CRDR' });
    expect(await codeOf(admin.beginDemotion({ ...request, nextEpoch: 1n }))).toBe('Conflict');
  });

  it('disconnects clients, writes the marker last, waits for its publish and is idempotent', async () => {
    const admin = b.server.runtime.engine.admin;
    const client = await b.connect();
    for (let i = 0; i < 20; i++)
      await client.send('/queue/Demote', `m-${i}`, { persistent: 'true' });
    const errors: string[] = [];
    client.onError((e) => errors.push(e.headers['message'] ?? ''));
    const request = {
      promotionId: 'p-1',
      nextEpoch: 2n,
      newPrimaryRegion: 'region-b',
      newPrimaryBrokerId: 'promo-new',
      timeoutMs: 10_000,
    };
    const demotion = await admin.beginDemotion(request);
    await client.closed;
    expect(errors.join(' ')).toContain('demoted by a switchover');
    expect(await refusal(b)).toContain('promo-new');

    const again = await admin.beginDemotion(request);
    expect(again.sequence).toBe(demotion.sequence);
    expect(await codeOf(admin.beginDemotion({ ...request, promotionId: 'p-2' }))).toBe('Conflict');

    const state = await admin.promotionState();
    expect(state.log.lastSeq).toBe(demotion.sequence);
    expect(state.log.publishedSeq).toBe(demotion.sequence);
    const events = await admin.listLogEvents(state.log.generation, demotion.sequence - 1n, 10);
    expect(events.events.map((e) => e.type)).toEqual(['SWITCHOVER_MARKER']);
    // The tail reads published events back from the stream.
    const all = await admin.listLogEvents(state.log.generation, 0n, 1000);
    expect(all.events[0]).toMatchObject({ sequence: 1n, type: 'LOG_STARTED' });
    expect(all.events.at(-1)!.sequence).toBe(demotion.sequence);
    const tail = await admin.listDivergentMessages(state.log.generation, 0n, 0, 100);
    expect(tail.messages.map((m) => m.body.toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => `m-${i}`),
    );
  });

  it('stays demoting across a restart, until SetRole cancels it', async () => {
    await b.restart();
    const admin = b.server.runtime.engine.admin;
    expect((await admin.promotionState()).demotion?.promotionId).toBe('p-1');
    expect(await refusal(b)).toContain('demoted by a switchover');
    await admin.setRole({ role: 'PRIMARY', epoch: 1n });
    expect((await admin.promotionState()).demotion).toBeUndefined();
    expect(await refusal(b)).toBeUndefined();
  });
});

describe('a new log on promotion', () => {
  it('opens with a snapshot by default and empty with log_start EMPTY', async () => {
    const b = await broker('newlog');
    const admin = b.server.runtime.engine.admin;
    const client = await b.connect();
    await client.send('/queue/Snap', 'kept', { persistent: 'true' });
    await client.disconnect();
    await admin.setRole({ role: 'PRIMARY', epoch: 1n, dataReplicationMode: 'CRDR' });
    await admin.setRole({ role: 'REPLICA', epoch: 2n, primaryBrokerId: 'elsewhere' });

    await admin.setRole({ role: 'PRIMARY', epoch: 3n, dataReplicationMode: 'CRDR' });
    const snapshot = await admin.promotionState();
    const withSnapshot = await admin.listLogEvents(snapshot.log.generation, 0n, 100);
    expect(withSnapshot.events.map((e) => e.type)).toEqual([
      'LOG_STARTED',
      'DESTINATION_CREATED',
      'USERS_CHANGED',
      'MESSAGE_SENT',
    ]);

    await admin.setRole({ role: 'REPLICA', epoch: 4n, primaryBrokerId: 'elsewhere' });
    await admin.setRole({
      role: 'PRIMARY',
      epoch: 5n,
      dataReplicationMode: 'CRDR',
      logStart: 'EMPTY',
    });
    const empty = await admin.promotionState();
    expect(empty.log.generation).toBe(snapshot.log.generation + 1n);
    const events = await admin.listLogEvents(empty.log.generation, 0n, 100);
    expect(events.events.map((e) => e.type)).toEqual(['LOG_STARTED']);
    expect(await codeOf(admin.listLogEvents(snapshot.log.generation, 0n, 10))).toBe(
      'FailedPrecondition',
    );
    // Setting PRIMARY again with the same epoch is the same promotion: no new log.
    await admin.setRole({ role: 'PRIMARY', epoch: 5n, dataReplicationMode: 'CRDR' });
    expect((await admin.promotionState()).log.generation).toBe(empty.log.generation);
  });
});
