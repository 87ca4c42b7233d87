import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStomp, type StompClient, type StompMessage } from '@crdr/stomp';
import { hostPort, waitFor } from '@crdr/testing';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  appUser,
  connectAny,
  createPair,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegions,
} from '../support/promotion-regions.js';

// Issue 11, "done when": a 50 MiB persistent message replicates and survives a switchover. The
// stack users run (control planes with the local provisioner, brokers, a replicator, TLS
// nats-servers with their default 1 MiB max payload): the message is sent over STOMP to the
// primary, is on the replica, the replica is promoted with SWITCHOVER through the control plane's
// API, and the new primary delivers the message once, byte for byte.

const MiB = 1024 * 1024;
const bigBytes = 50 * MiB;
const queue = '/queue/big.switchover';

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;

const role = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationRole;
const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;

function body(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4096) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Waits until region-a's and region-b's brokers of the pair hold the same state. */
async function waitSameDigest(): Promise<{ messages: string }> {
  let last: unknown;
  let settled: { messages: string } | undefined;
  await waitFor(
    async () => {
      const [p, r] = await Promise.all([regions.a.digest(primaryId), regions.b.digest(replicaId)]);
      last = { p, r };
      settled = p;
      return p.digest === r.digest && p.sequence === r.sequence;
    },
    'equal state digests on both sides',
    180_000,
    500,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`, { cause: error });
  });
  return settled!;
}

/** Connects as the app user to whichever endpoint serves, accepting frames of any size. */
async function connectLarge(endpoints: readonly string[]): Promise<StompClient> {
  const refusals: string[] = [];
  for (const endpoint of endpoints) {
    try {
      return await connectStomp({
        ...hostPort(endpoint),
        login: appUser.username,
        passcode: appUser.password,
        connectTimeoutMs: 10_000,
        maxFrameBytes: bigBytes + MiB,
      });
    } catch (error) {
      refusals.push(String(error));
    }
  }
  throw new Error(`no instance accepted the app user: ${refusals.join('; ')}`);
}

/** The last lines of every process log of a Region, for a failure's message. */
async function logTails(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'logs');
  const tails: string[] = [];
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, file), 'utf8').catch(() => '');
    tails.push(`--- ${file}\n${text.split('\n').slice(-15).join('\n')}`);
  }
  return tails.join('\n');
}

beforeAll(async () => {
  regions = await startPromotionRegions('bigswitch', {
    // A 50 MiB SEND keeps a busy two-core host's processes off the CPU for seconds at a time
    // (gaps of 2-3 s seen even in idle ones): with the default 2 s lease the standby took over
    // in the middle of the SEND, which the client sees as a closed connection and no receipt.
    env: { CONTROL_PLANE_BROKER_LEASE_TTL_MS: '10000' },
  });
  ({ primaryId, replicaId } = await createPair(regions, 'bigswitch'));
}, 600_000);

afterAll(async () => {
  await regions?.stop();
}, 120_000);

describe('a 50 MiB persistent message', () => {
  it('replicates, survives a switchover and is consumed once, intact, from the new primary', async () => {
    const payload = body(bigBytes);
    const expected = sha256(payload);
    const primary = await regions.a.describe(primaryId);
    const sender = await connectLarge(stompEndpoints(primary));
    try {
      await sender.send(queue, Buffer.from('before'), { persistent: true }, { receipt: true });
      await sender.send(queue, payload, { persistent: true }, { receipt: true });
      // Sent after the big one: it comes out after it, so a second copy would show before it.
      await sender.send(queue, Buffer.from('after'), { persistent: true }, { receipt: true });
    } catch (error) {
      throw new Error(`${String(error)}\n${await logTails(regions.a.stateDir)}`, { cause: error });
    } finally {
      await sender.disconnect();
    }

    const before = await waitSameDigest();
    expect(Number(before.messages)).toBe(3);

    await regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' });
    await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'PRIMARY and PROMOTED',
      300_000,
    );
    await regions.a.waitForBroker(
      primaryId,
      (d) => role(d) === 'REPLICA' && status(d) === 'REPLICATING',
      'the replica of b',
      300_000,
    );
    // The old primary, now a replica, refuses clients.
    const oldPrimary = await connectAny(stompEndpoints(await regions.a.describe(primaryId)));
    expect(oldPrimary.client).toBeUndefined();

    const promoted = await regions.b.describe(replicaId);
    const consumer = await connectLarge(stompEndpoints(promoted));
    const received: StompMessage[] = [];
    try {
      await consumer.subscribe(queue, (m) => received.push(m), { ack: 'client-individual' });
      await waitFor(
        () => received.some((m) => m.body.toString() === 'after'),
        'the message sent after the big one',
        180_000,
        250,
      );
      for (const m of received) await m.ack();
    } finally {
      await consumer.disconnect();
    }
    const bodies = received.map((m) => m.body);
    expect(bodies.map((b) => b.length)).toEqual([6, bigBytes, 5]);
    expect(bodies[0]!.toString()).toBe('before');
    expect(sha256(bodies[1]!), 'the 50 MiB body byte for byte').toBe(expected);

    // The acknowledgements replicate back to the old primary: both sides empty and equal.
    const after = await waitSameDigest();
    expect(Number(after.messages)).toBe(0);
  }, 900_000);
});
