import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, type StompClient } from '@crdr/stomp';
import {
  RawStompConnection,
  assertWorks,
  host,
  startTestBroker,
  type TestBroker,
} from './broker.test-helper.js';

const maxFrameBytes = 8192;
const maxHeaderBytes = 1024;
/**
 * Written after every input: whatever state the parser was left in, these zeros end it with a
 * protocol error (an over-long line, or a body then an over-long line), so every run must end
 * with the connection closed, and never with the broker waiting for more.
 */
const flush = Buffer.alloc(maxFrameBytes + maxHeaderBytes + 16);
const closeWithinMs = 3000;

const commands = [
  'CONNECT',
  'STOMP',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
  'MESSAGE',
  'CONNECTED',
  'FROB',
] as const;

const headerName = fc.oneof(
  { arbitrary: fc.constantFrom('receipt', 'destination', 'transaction', 'id'), weight: 2 },
  fc.constantFrom(
    'destination',
    'receipt',
    'id',
    'ack',
    'transaction',
    'persistent',
    'priority',
    'expires',
    'AMQ_SCHEDULED_DELAY',
    'activemq.prefetchSize',
    'activemq.subscriptionName',
    'message-id',
    'subscription',
    'content-length',
    'content-type',
    'heart-beat',
    'accept-version',
  ),
  fc.string({ maxLength: 16 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    '/queue/fuzz',
    '/topic/fuzz',
    '/queue/fuzz.b',
    'client',
    'client-individual',
    'auto',
    'true',
    't1',
    '1,1',
  ),
  fc.integer({ min: -5, max: 20_000 }).map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** A well-formed frame as an encoder would write it (headers escaped for STOMP 1.2). */
const validFrame = fc
  .record({
    command: fc.constantFrom(...commands),
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
    body: fc.oneof(fc.constant(new Uint8Array()), fc.uint8Array({ maxLength: 300 })),
  })
  .map(({ command, headers, body }) => {
    try {
      return encodeFrame(command, headers, Buffer.from(body));
    } catch {
      // CONNECT headers travel unescaped and cannot hold every value: drop them.
      return encodeFrame(command, {}, Buffer.from(body));
    }
  });

/** A frame written as raw text: headers unescaped, so any version's decoding may apply (or fail). */
const rawFrame = fc
  .record({
    command: fc.constantFrom(...commands),
    lines: fc.array(
      fc.tuple(
        headerName,
        fc.oneof(
          headerValue,
          headerValue.map((v) => `${v}\r`),
          headerValue.map((v) => `${v}\r\r`),
        ),
      ),
      { maxLength: 8 },
    ),
    body: fc.string({ maxLength: 100 }),
  })
  .map(({ command, lines, body }) =>
    Buffer.from(
      `${command}\n${lines.map(([n, v]) => `${n.replace(/\n/g, '')}:${v.replace(/\n/g, '')}\n`).join('')}\n${body}\0`,
    ),
  );

const garbage = fc.uint8Array({ minLength: 1, maxLength: 600 }).map((bytes) => Buffer.from(bytes));

const connectFrame = fc
  .constantFrom('1.0', '1.1', '1.2', '1.0,1.1,1.2')
  .map((versions) =>
    encodeFrame('CONNECT', { 'accept-version': versions, host, login: 'admin', passcode: 'admin' }),
  );

/** Cuts `data` at the given fractions of its length. */
function split(data: Buffer, fractions: readonly number[]): Buffer[] {
  const cuts = [...new Set(fractions.map((f) => Math.floor(f * data.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut > from) chunks.push(data.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (from < data.length) chunks.push(data.subarray(from));
  return chunks;
}

const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe('STOMP frame parser under garbage and split frames (property)', () => {
  let broker: TestBroker;
  let control: StompClient;
  let runs = 0;

  /** Writes the chunks one by one, then the flush, and waits until the broker has ended the connection. */
  async function feed(chunks: readonly Buffer[]): Promise<RawStompConnection> {
    const connection = await RawStompConnection.open(broker.stompPort);
    try {
      for (const chunk of chunks) {
        connection.write(chunk);
        await nextTurn();
      }
      connection.write(flush);
      await connection.waitClosed(closeWithinMs);
      return connection;
    } finally {
      connection.destroy();
    }
  }

  beforeAll(async () => {
    broker = await startTestBroker('stomp_fuzz', {
      BROKER_MAX_FRAME_BYTES: String(maxFrameBytes),
      BROKER_MAX_HEADER_BYTES: String(maxHeaderBytes),
      BROKER_MAX_HEADERS: '32',
    });
    control = await broker.connect();
  });
  afterAll(async () => {
    await control?.disconnect();
    await broker?.close();
  });

  it('answers random bytes with an ERROR and a close, and keeps serving others', async () => {
    await fc.assert(
      fc.asyncProperty(garbage, fractions, async (bytes, cuts) => {
        const connection = await feed(split(bytes, cuts));
        expect(connection.frames.filter((f) => f.command === 'ERROR').length).toBe(1);
        expect(connection.parseError).toBeUndefined();
        await assertWorks(control, `control after garbage run ${++runs}`);
      }),
      { numRuns: 30 },
    );
  });

  it('survives random valid and invalid frames split at random points, after or without a CONNECT', async () => {
    const input = fc.record({
      connect: fc.option(connectFrame, { nil: undefined, freq: 4 }),
      pieces: fc.array(
        fc.oneof(
          { arbitrary: validFrame, weight: 4 },
          { arbitrary: rawFrame, weight: 2 },
          { arbitrary: garbage, weight: 1 },
        ),
        {
          minLength: 1,
          maxLength: 8,
        },
      ),
      cuts: fractions,
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ connect, pieces, cuts }) => {
        const data = Buffer.concat([...(connect === undefined ? [] : [connect]), ...pieces]);
        const connection = await feed(split(data, cuts));
        const errors = connection.frames.filter((f) => f.command === 'ERROR');
        // Only a DISCONNECT the broker honoured ends a connection without an ERROR.
        const disconnected = pieces.some(
          (p) => p.subarray(0, 11).toString('latin1') === 'DISCONNECT\n',
        );
        expect(errors.length === 1 || (errors.length === 0 && disconnected)).toBe(true);
        expect(connection.parseError).toBeUndefined();
        await assertWorks(control, `control after frame run ${++runs}`);
      }),
      { numRuns: 40 },
    );
  });
});
