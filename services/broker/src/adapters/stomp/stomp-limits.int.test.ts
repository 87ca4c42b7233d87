import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createFrameParser, encodeFrame, type StompClient, type StompFrame } from '@crdr/stomp';
import {
  RawStompConnection,
  assertWorks,
  host,
  startTestBroker,
  uniqueName,
  waitFor,
  type TestBroker,
} from './broker.test-helper.js';

const maxFrameBytes = 16_384;
const maxHeaders = 16;
const maxHeaderBytes = 512;
const maxPendingFrames = 8;

describe('STOMP connection limits', () => {
  let broker: TestBroker;
  let control: StompClient;
  const raws: RawStompConnection[] = [];
  const rawConnected = async (): Promise<RawStompConnection> => {
    const connection = await RawStompConnection.connect(broker.stompPort);
    raws.push(connection);
    return connection;
  };
  /** One ERROR, then the broker closes; the connection opened before keeps working. */
  const refusal = async (connection: RawStompConnection, label: string): Promise<string> => {
    const error = await connection.next('ERROR');
    await connection.waitClosed();
    expect(connection.frames.filter((f) => f.command === 'ERROR')).toHaveLength(1);
    await assertWorks(control, `control after ${label}`);
    return error.headers['message'] ?? '';
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_limits', {
      BROKER_MAX_FRAME_BYTES: String(maxFrameBytes),
      BROKER_MAX_HEADERS: String(maxHeaders),
      BROKER_MAX_HEADER_BYTES: String(maxHeaderBytes),
      BROKER_MAX_PENDING_FRAMES: String(maxPendingFrames),
    });
    control = await broker.connect();
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await control?.disconnect();
    await broker?.close();
  });

  it('accepts a frame just under the size limit', async () => {
    const connection = await rawConnected();
    const queue = `/queue/${uniqueName('big-ok')}`;
    connection.frame(
      'SEND',
      { destination: queue, receipt: 'ok' },
      Buffer.alloc(maxFrameBytes - 200, 0x61),
    );
    expect((await connection.next('RECEIPT')).headers['receipt-id']).toBe('ok');
  });

  it('refuses a frame larger than the limit, saying the limit', async () => {
    const connection = await rawConnected();
    connection.frame(
      'SEND',
      { destination: '/queue/too-big' },
      Buffer.alloc(maxFrameBytes + 1, 0x61),
    );
    expect(await refusal(connection, 'a large frame')).toBe(
      `frame exceeds the maximum size of ${maxFrameBytes} bytes`,
    );
  });

  it('refuses a frame announced too large by content-length before its body arrives', async () => {
    const connection = await rawConnected();
    connection.write(`SEND\ndestination:/queue/too-big\ncontent-length:${maxFrameBytes * 10}\n\n`);
    expect(await refusal(connection, 'an announced large frame')).toBe(
      `frame exceeds the maximum size of ${maxFrameBytes} bytes`,
    );
  });

  it('refuses a body without content-length that runs past the limit', async () => {
    const connection = await rawConnected();
    connection.write('SEND\ndestination:/queue/too-big\n\n');
    connection.write(Buffer.alloc(maxFrameBytes, 0x62));
    expect(await refusal(connection, 'an endless body')).toBe(
      `frame exceeds the maximum size of ${maxFrameBytes} bytes`,
    );
  });

  it('refuses too many headers', async () => {
    const connection = await rawConnected();
    const headers: Record<string, string> = { destination: '/queue/many' };
    for (let i = 0; i < maxHeaders; i++) headers[`x-${i}`] = String(i);
    connection.frame('SEND', headers, 'x');
    expect(await refusal(connection, 'too many headers')).toBe(
      `too many headers: the limit is ${maxHeaders}`,
    );
  });

  it('refuses a header line that is too long', async () => {
    const connection = await rawConnected();
    connection.frame(
      'SEND',
      { destination: '/queue/long', 'x-long': 'l'.repeat(maxHeaderBytes) },
      'x',
    );
    expect(await refusal(connection, 'a long header')).toBe(
      `header line exceeds ${maxHeaderBytes} bytes`,
    );
  });

  it('refuses a command line that is too long, before CONNECT', async () => {
    const connection = await RawStompConnection.open(broker.stompPort);
    raws.push(connection);
    connection.write('C'.repeat(maxHeaderBytes + 10));
    expect(await refusal(connection, 'a long command')).toBe(
      `command line exceeds ${maxHeaderBytes} bytes`,
    );
  });

  it(`takes ${maxPendingFrames} pipelined frames at once`, async () => {
    const connection = await rawConnected();
    const queue = `/queue/${uniqueName('pipelined')}`;
    const frames = Array.from({ length: maxPendingFrames }, (_, i) =>
      encodeFrame('SEND', { destination: queue, persistent: 'true', receipt: `p${i}` }, `m${i}`),
    );
    connection.write(Buffer.concat(frames));
    await waitFor(
      () => connection.frames.filter((f) => f.command === 'RECEIPT').length === maxPendingFrames,
      5000,
      'receipts',
    );
    expect(connection.frames.map((f) => f.headers['receipt-id'] ?? f.command)).toEqual([
      'CONNECTED',
      ...frames.map((_, i) => `p${i}`),
    ]);
  });

  it('refuses more pending frames than the limit', async () => {
    const connection = await rawConnected();
    const queue = `/queue/${uniqueName('flood')}`;
    const frames = Array.from({ length: maxPendingFrames * 4 }, (_, i) =>
      encodeFrame('SEND', { destination: queue, persistent: 'true', receipt: `f${i}` }, `m${i}`),
    );
    connection.write(Buffer.concat(frames));
    expect(await refusal(connection, 'a flood of frames')).toBe(
      `too many frames awaiting processing on this connection: the limit is ${maxPendingFrames}`,
    );
  });

  it('applies the frame size limit over WebSocket too', async () => {
    const ws = new WebSocket(`ws://${host}:${broker.wsPort}`, ['v12.stomp']);
    const parser = createFrameParser();
    const frames: StompFrame[] = [];
    let closed = false;
    ws.on('message', (data: Buffer) => frames.push(...parser.push(data)));
    ws.on('close', () => (closed = true));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('v12.stomp');
    ws.send(
      encodeFrame('CONNECT', { 'accept-version': '1.2', host, login: 'admin', passcode: 'admin' }),
    );
    await waitFor(
      () => frames.some((f) => f.command === 'CONNECTED'),
      5000,
      'CONNECTED over WebSocket',
    );
    ws.send(encodeFrame('SEND', { destination: '/queue/ws-big' }, Buffer.alloc(maxFrameBytes + 1)));
    await waitFor(() => closed, 5000, 'the WebSocket to close');
    expect(frames.map((f) => f.command)).toEqual(['CONNECTED', 'ERROR']);
    expect(frames[1]?.headers['message']).toBe(
      `frame exceeds the maximum size of ${maxFrameBytes} bytes`,
    );
    await assertWorks(control, 'control after a large WebSocket frame');
  });
});
