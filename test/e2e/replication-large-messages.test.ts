import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStompServerError, type StompClient } from '@crdr/stomp';
import { startTwoRegions, type SettledDigests, type TwoRegions } from '../support/two-regions.js';

// Messages larger than NATS's max payload (1 MiB by default) replicate (issue 11): the relay
// publishes such an event in parts and the replicator puts it together. Every part a real
// process: two Regions (see two-regions.ts), a STOMP client, nats-server with its defaults.

const MiB = 1024 * 1024;
/** Below the default 100 MiB so that the refusal costs the test machine less. */
const maxMessageBytes = 60 * MiB;

let regions: TwoRegions;

beforeAll(async () => {
  regions = await startTwoRegions({
    name: 'e2e-big',
    primaryEnv: {
      BROKER_MAX_MESSAGE_BYTES: String(maxMessageBytes),
      // The default 2 s lease: writing a 50 MiB body takes longer, and renewals go on meanwhile.
    },
  });
});

afterAll(async () => {
  await regions?.stop();
});

function body(tag: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4096) b.writeUInt32LE((i ^ tag) >>> 0, i);
  return b;
}

function expectSameState({ primary, replica }: SettledDigests): void {
  expect(replica.sequence).toBe(primary.sequence);
  expect(replica.messages).toBe(primary.messages);
  expect(replica.digest, 'replica digest = primary digest').toBe(primary.digest);
}

async function send(client: StompClient, queue: string, payload: Buffer): Promise<void> {
  await client.send(queue, payload, { persistent: true }, { receipt: true });
}

describe('large messages replicate', () => {
  it('a 1.1 MiB message written before replication arrives through the snapshot', async () => {
    const client = await regions.connectPrimary();
    try {
      await send(client, '/queue/big.before', Buffer.from('small before'));
      await send(client, '/queue/big.before', body(1, Math.round(1.1 * MiB)));
      await send(client, '/queue/big.before', Buffer.from('small after'));
    } finally {
      await client.disconnect();
    }
    await regions.enableReplication();
    await regions.waitForLagZero(120_000);
    const digests = await regions.settledDigests(60_000);
    expect(Number(digests.primary.messages)).toBe(3);
    expectSameState(digests);
  });

  it('a 1.1 MiB and a 50 MiB persistent message sent over STOMP replicate, and so does what follows them', async () => {
    const client = await regions.connectPrimary();
    try {
      await send(client, '/queue/big.live', Buffer.from('first'));
      await send(client, '/queue/big.live', body(2, Math.round(1.1 * MiB)));
      await send(client, '/queue/big.live', body(3, 50 * MiB));
      for (let i = 0; i < 20; i++)
        await send(client, '/queue/big.after', Buffer.from(`after ${i}`));
    } finally {
      await client.disconnect();
    }
    await regions.waitForLagZero(180_000);
    const digests = await regions.settledDigests(120_000);
    expect(Number(digests.primary.messages)).toBe(3 + 3 + 20);
    expectSameState(digests);
  });

  it('a 20 MiB message replicates once across a kill -9 of the replicator', async () => {
    const client = await regions.connectPrimary();
    try {
      await send(client, '/queue/big.kill', body(4, 20 * MiB));
      // Killed while it reads or applies the event's parts (or just after): either way, once.
      await regions.killReplicator();
      await send(client, '/queue/big.kill', Buffer.from('after the kill'));
    } finally {
      await client.disconnect();
    }
    await regions.restartReplicator();
    await regions.waitForLagZero(180_000);
    const digests = await regions.settledDigests(120_000);
    expect(Number(digests.primary.messages)).toBe(26 + 2);
    expectSameState(digests);
  });

  it('a message over the maximum size is refused at SEND with an ERROR, and replication goes on', async () => {
    const refused = await regions.connectPrimary();
    const error = await refused
      .send(
        '/queue/big.refused',
        Buffer.alloc(maxMessageBytes + 1),
        { persistent: true },
        { receipt: true },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isStompServerError(error), `an ERROR frame, got ${String(error)}`).toBe(true);
    expect((error as Error).message).toContain(
      `exceeds the broker's maximum message size of ${maxMessageBytes} bytes`,
    );
    await refused.disconnect().catch(() => undefined);

    const client = await regions.connectPrimary();
    try {
      await send(client, '/queue/big.refused', Buffer.from('accepted after a refusal'));
    } finally {
      await client.disconnect();
    }
    await regions.waitForLagZero(60_000);
    const digests = await regions.settledDigests(60_000);
    expect(Number(digests.primary.messages)).toBe(28 + 1);
    expectSameState(digests);
  });
});
