import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, loadProto } from '@crdr/proto';
import { hasErrorCode } from '@crdr/errors';
import { createFrameParser, encodeFrame, type StompClient, type StompFrame } from '@crdr/stomp';
import {
  Inbox,
  RawStompConnection,
  assertWorks,
  host,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  type TestBroker,
} from './broker.test-helper.js';

const maxMessageBytes = 64 * 1024;
const refusedText = (bytes: number): string =>
  `the message body of ${bytes} bytes exceeds the broker's maximum message size of ${maxMessageBytes} bytes`;

describe('the maximum message size (BROKER_MAX_MESSAGE_BYTES)', () => {
  let broker: TestBroker;
  let control: StompClient;
  const raws: RawStompConnection[] = [];
  const clients: { close(): void }[] = [];

  beforeAll(async () => {
    broker = await startTestBroker('message_size', {
      BROKER_MAX_MESSAGE_BYTES: String(maxMessageBytes),
    });
    control = await broker.connect();
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    for (const c of clients) c.close();
    await control?.disconnect();
    await broker?.close();
  });

  it('takes a message of the maximum size and refuses a larger one with an ERROR, losing nothing accepted', async () => {
    const queue = `/queue/${uniqueName('size')}`;
    const connection = await RawStompConnection.connect(broker.stompPort);
    raws.push(connection);
    const largest = Buffer.alloc(maxMessageBytes, 0x61);
    connection.frame('SEND', { destination: queue, persistent: 'true', receipt: 'ok' }, largest);
    expect((await connection.next('RECEIPT')).headers['receipt-id']).toBe('ok');

    connection.frame(
      'SEND',
      { destination: queue, persistent: 'true', receipt: 'big' },
      Buffer.alloc(maxMessageBytes + 1, 0x62),
    );
    const error = await connection.next('ERROR');
    expect(error.headers['message']).toBe(refusedText(maxMessageBytes + 1));
    expect(error.headers['receipt-id']).toBe('big');

    // Other connections work on, and the queue holds the accepted message only, whole.
    await assertWorks(control, 'control after a refused large message');
    expect(await queueSize(broker, queue)).toBe(1);
    const inbox = new Inbox();
    await control.subscribe(queue, inbox.handler);
    const [message] = await inbox.take(1);
    expect(message?.body.equals(largest)).toBe(true);
  });

  it('is the same limit over WebSocket', async () => {
    const ws = new WebSocket(`ws://${host}:${broker.wsPort}`, ['v12.stomp']);
    const parser = createFrameParser();
    const frames: StompFrame[] = [];
    ws.on('message', (data: Buffer) => frames.push(...parser.push(data)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      ws.send(
        encodeFrame('CONNECT', {
          'accept-version': '1.2',
          host,
          login: 'admin',
          passcode: 'admin',
        }),
      );
      await waitFor(() => frames.some((f) => f.command === 'CONNECTED'), 5000, 'CONNECTED');
      const queue = `/queue/${uniqueName('ws-size')}`;
      ws.send(
        encodeFrame(
          'SEND',
          { destination: queue, receipt: 'big' },
          Buffer.alloc(maxMessageBytes + 1),
        ),
      );
      await waitFor(() => frames.some((f) => f.command === 'ERROR'), 5000, 'an ERROR');
      expect(frames.find((f) => f.command === 'ERROR')?.headers['message']).toBe(
        refusedText(maxMessageBytes + 1),
      );
      expect(await queueSize(broker, queue)).toBeFalsy();
    } finally {
      ws.close();
    }
  });

  it('is the same limit over gRPC, with INVALID_ARGUMENT', async () => {
    const { BrokerService } = loadProto().crdr.broker.v1;
    const client = createClient(BrokerService, broker.grpcAddress, {
      credentials: { username: 'admin', password: 'admin' },
    });
    clients.push(client);
    const queue = `/queue/${uniqueName('grpc-size')}`;
    await client.send({
      destination: queue,
      body: Buffer.alloc(maxMessageBytes, 1),
      persistent: true,
    });
    const refused = await client
      .send({ destination: queue, body: Buffer.alloc(maxMessageBytes + 1, 2), persistent: true })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(hasErrorCode(refused, 'BadRequest')).toBe(true);
    expect((refused as Error).message).toContain(refusedText(maxMessageBytes + 1));
    expect(await queueSize(broker, queue)).toBe(1);
  });
});
