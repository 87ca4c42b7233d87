import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { waitFor } from '@crdr/testing';
import type { Scenario, Target } from './differential.test-helper.js';

// Scenarios driven with stompit (a third-party Node client, over TCP).

/** The part of stompit (CommonJS, untyped) these scenarios use. */
interface StompitMessage {
  readonly headers: Readonly<Record<string, string>>;
  readString(encoding: 'binary', callback: (error: Error | null, body?: string) => void): void;
}
interface StompitClient {
  send(headers: Record<string, string>, options?: { onReceipt?: () => void }): Writable;
  subscribe(
    headers: Record<string, string>,
    onMessage: (error: Error | null, message: StompitMessage) => void,
  ): { unsubscribe(): void };
  disconnect(callback?: (error: Error | null) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
interface Stompit {
  connect(
    options: { host: string; port: number; connectHeaders: Record<string, string> },
    callback: (error: Error | null, client: StompitClient) => void,
  ): void;
}
const stompit = createRequire(import.meta.url)('stompit') as Stompit;

function connect(target: Target): Promise<StompitClient> {
  return new Promise((resolve, reject) =>
    stompit.connect(
      {
        host: target.host,
        port: target.stompPort,
        connectHeaders: { host: '/', login: 'admin', passcode: 'admin', 'heart-beat': '0,0' },
      },
      (error, client) => {
        if (error !== null) return reject(error);
        client.on('error', () => undefined);
        resolve(client);
      },
    ),
  );
}

/** Subscribes with a receipt (stompit's subscribe has none: a SEND receipt after it orders it). */
function subscribe(
  client: StompitClient,
  headers: Record<string, string>,
  into: { headers: Record<string, string>; bytes: number; sha256: string }[],
): void {
  client.subscribe({ ack: 'auto', ...headers }, (error, message) => {
    if (error !== null) return;
    message.readString('binary', (readError, body) => {
      if (readError !== null || body === undefined) return;
      const buffer = Buffer.from(body, 'binary');
      // Not compared: content-length. stompit sends no content-length, and ActiveMQ then passes
      // the message on as a JMS text message without one; our MESSAGE always has one
      // (docs/interface.md). The byte count and digest are compared.
      const { 'content-length': _length, ...rest } = message.headers;
      into.push({
        headers: rest,
        bytes: buffer.length,
        sha256: createHash('sha256').update(buffer).digest('hex'),
      });
    });
  });
}

function send(client: StompitClient, headers: Record<string, string>, body: Buffer): Promise<void> {
  return new Promise((resolve) => client.send(headers, { onReceipt: resolve }).end(body));
}

const disconnect = (client: StompitClient): Promise<unknown> =>
  new Promise((resolve) => client.disconnect(resolve));

export const stompitScenarios: readonly Scenario[] = [
  {
    // Issue 13: ActiveMQ's STOMP frame limit is 100 MiB; one client suite sends 16 MiB.
    name: 'a 16 MiB message to a topic with two subscribers',
    client: 'stompit',
    async run(target) {
      const topic = '/topic/diff.stompit.big';
      const consumer = await connect(target);
      const producer = await connect(target);
      const received: { headers: Record<string, string>; bytes: number; sha256: string }[] = [];
      subscribe(consumer, { destination: topic, id: 'a' }, received);
      subscribe(consumer, { destination: topic, id: 'b' }, received);
      // A receipt on the consumer's connection: both SUBSCRIBEs before it are in effect.
      await send(consumer, { destination: '/queue/diff.stompit.sync' }, Buffer.from('sync'));
      const body = Buffer.alloc(16 * 1024 * 1024);
      // Printable bytes: stompit reads a body up to the first NUL when it ignores content-length.
      for (let i = 0; i < body.length; i++) body[i] = 0x21 + ((i * 31 + 7) % 94);
      await send(
        producer,
        { destination: topic, 'content-type': 'application/octet-stream' },
        body,
      );
      await waitFor(
        () => received.length >= 2,
        'the 16 MiB message on both subscriptions',
        120_000,
      );
      await Promise.all([disconnect(consumer), disconnect(producer)]);
      return received.sort((x, y) =>
        x.headers['subscription']! < y.headers['subscription']! ? -1 : 1,
      );
    },
  },
];
