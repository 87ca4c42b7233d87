import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CrdrError, hasErrorCode, notFound, unavailable } from '@crdr/errors';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addStandardServices,
  bindGrpcServer,
  clientStreamHandler,
  createClient,
  createGrpcServer,
  fromGrpcError,
  internalErrorMessage,
  loadProto,
  parseBasicAuth,
  serverStreamHandler,
  shutdownGrpcServer,
  unaryHandler,
  withRetry,
  type brokerV1,
  type ClientOf,
  type StandardServices,
} from './index.js';

const proto = loadProto();
const BrokerService = proto.crdr.broker.v1.BrokerService;
const brokerServiceName = 'crdr.broker.v1.BrokerService';

/** What the test service saw, for the assertions below. */
const seen = { receiveCancelled: 0, unexpected: [] as unknown[] };

function user(call: { metadata: grpc.Metadata }): string {
  const credentials = parseBasicAuth(call.metadata);
  if (!credentials) throw new CrdrError('Unauthenticated', 'no credentials');
  return credentials.username;
}

const handlerOptions = { onUnexpectedError: (error: unknown) => seen.unexpected.push(error) };

/** A tiny BrokerService: enough behaviour to exercise every kind of call and failure. */
const handlers: brokerV1.BrokerServiceHandlers = {
  Send: unaryHandler(async (request, call) => {
    const username = user(call);
    if (request.destination === '/queue/missing') throw notFound('queue X');
    if (request.destination === '/queue/bug') throw new Error('secret stack detail');
    if (request.destination === '/queue/slow') await delay(1_000);
    return { messageId: `${username}:${request.destination}:${request.expiresAtMs}` };
  }, handlerOptions),
  SendStream: clientStreamHandler(async (requests) => {
    const messageIds: string[] = [];
    for await (const request of requests) {
      if (request.destination === '/queue/missing')
        throw notFound(`queue after ${messageIds.length}`);
      messageIds.push(`id-${request.body.toString('utf8')}`);
    }
    return { messageIds };
  }, handlerOptions),
  Receive: serverStreamHandler(async (request, call) => {
    if (request.destination === '/queue/missing') throw notFound('queue X');
    if (request.destination === '/queue/forever') {
      call.write({ ackId: 'a-0', destination: request.destination });
      await new Promise<void>((resolve) => call.once('cancelled', resolve));
      seen.receiveCancelled++;
      return;
    }
    for (let i = 0; i < 3; i++) {
      call.write({
        ackId: `a-${i}`,
        destination: request.destination,
        timestampMs: '1700000000000',
      });
    }
    if (request.prefetch === 7) throw unavailable('stopped after 3');
  }, handlerOptions),
  Ack: unaryHandler(async () => ({})),
  Nack: unaryHandler(async () => ({})),
  BeginTransaction: unaryHandler(async () => ({ transactionId: 'tx' })),
  CommitTransaction: unaryHandler(async () => ({})),
  AbortTransaction: unaryHandler(async () => ({})),
};

let server: grpc.Server;
let standard: StandardServices;
let address: string;
let broker: ClientOf<typeof BrokerService>;

beforeAll(async () => {
  server = createGrpcServer();
  server.addService(BrokerService.service, handlers);
  standard = addStandardServices(server, [brokerServiceName]);
  const port = await bindGrpcServer(server, '127.0.0.1:0');
  address = `127.0.0.1:${port}`;
  broker = createClient(BrokerService, address, {
    credentials: { username: 'alice', password: 'pw' },
  });
  await broker.waitForReady();
});

afterAll(async () => {
  broker.close();
  await shutdownGrpcServer(server, 1_000);
});

describe('unary calls', () => {
  it('send the credentials and return the typed response', async () => {
    const response = await broker.send({ destination: '/queue/a', expiresAtMs: '42' });
    expect(response.messageId).toBe('alice:/queue/a:42');
  });

  it('restore a thrown notFound as the same CrdrError', async () => {
    const error = await broker.send({ destination: '/queue/missing' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrdrError);
    expect(hasErrorCode(error, 'NotFound')).toBe(true);
    expect((error as CrdrError).message).toBe('queue X');
  });

  it('answer a bug with a generic Internal error and report it on the server', async () => {
    const before = seen.unexpected.length;
    const error = await broker.send({ destination: '/queue/bug' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Internal', message: internalErrorMessage });
    expect(JSON.stringify(error)).not.toContain('secret');
    expect(seen.unexpected.length).toBe(before + 1);
  });

  it('fail with DeadlineExceeded past their deadline', async () => {
    const error = await broker
      .send({ destination: '/queue/slow' }, { deadlineMs: 50 })
      .catch((e: unknown) => e);
    expect(hasErrorCode(error, 'DeadlineExceeded')).toBe(true);
  });

  it('use the client default deadline', async () => {
    const hasty = createClient(BrokerService, address, {
      credentials: { username: 'bob', password: 'pw' },
      deadlineMs: 50,
    });
    try {
      await expect(hasty.send({ destination: '/queue/slow' })).rejects.toMatchObject({
        code: 'DeadlineExceeded',
      });
    } finally {
      hasty.close();
    }
  });

  it('are Unauthenticated without credentials', async () => {
    const anonymous = createClient(BrokerService, address);
    try {
      await expect(anonymous.send({ destination: '/queue/a' })).rejects.toMatchObject({
        code: 'Unauthenticated',
        message: 'no credentials',
      });
    } finally {
      anonymous.close();
    }
  });

  it('reject with Aborted when their signal aborts', async () => {
    const controller = new AbortController();
    const pending = broker.send({ destination: '/queue/slow' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'Aborted' });
  });

  it('fail with Unavailable when nothing listens, which withRetry retries', async () => {
    const probe = createGrpcServer();
    const port = await bindGrpcServer(probe, '127.0.0.1:0');
    await shutdownGrpcServer(probe, 0);
    const nowhere = createClient(BrokerService, `127.0.0.1:${port}`, { deadlineMs: 2_000 });
    let attempts = 0;
    try {
      const error = await withRetry(
        () => {
          attempts++;
          return nowhere.send({ destination: '/queue/a' });
        },
        { retries: 2, baseDelayMs: 1, maxDelayMs: 5 },
      ).catch((e: unknown) => e);
      expect(hasErrorCode(error, 'Unavailable')).toBe(true);
      expect(attempts).toBe(3);
    } finally {
      nowhere.close();
    }
  });
});

describe('client-streaming calls', () => {
  it('send every request in order and return the one response', async () => {
    async function* requests(): AsyncGenerator<brokerV1.SendRequest> {
      for (let i = 0; i < 500; i++) yield { destination: '/queue/a', body: Buffer.from(String(i)) };
    }
    const response = await broker.sendStream(requests());
    expect(response.messageIds).toHaveLength(500);
    expect(response.messageIds.slice(0, 3)).toEqual(['id-0', 'id-1', 'id-2']);
  });

  it('restore an error thrown midway', async () => {
    const requests = [
      { destination: '/queue/a', body: Buffer.from('0') },
      { destination: '/queue/missing' },
      { destination: '/queue/a', body: Buffer.from('2') },
    ];
    await expect(broker.sendStream(requests)).rejects.toMatchObject({
      code: 'NotFound',
      message: 'queue after 1',
    });
  });
});

describe('server-streaming calls', () => {
  it('yield every response, then end', async () => {
    const received: brokerV1.Delivery__Output[] = [];
    for await (const delivery of broker.receive({ destination: '/queue/a' }))
      received.push(delivery);
    expect(received.map((d) => d.ackId)).toEqual(['a-0', 'a-1', 'a-2']);
    expect(received[0]?.timestampMs).toBe('1700000000000');
  });

  it('throw the restored CrdrError, after the responses written before it', async () => {
    const received: string[] = [];
    const error = await (async () => {
      for await (const delivery of broker.receive({ destination: '/queue/a', prefetch: 7 }))
        received.push(delivery.ackId);
    })().catch((e: unknown) => e);
    expect(received).toEqual(['a-0', 'a-1', 'a-2']);
    expect(error).toMatchObject({ code: 'Unavailable', message: 'stopped after 3' });

    await expect(broker.receive({ destination: '/queue/missing' }).next()).rejects.toMatchObject({
      code: 'NotFound',
    });
  });

  it('cancel the call when the loop breaks', async () => {
    const before = seen.receiveCancelled;
    for await (const delivery of broker.receive({ destination: '/queue/forever' })) {
      expect(delivery.ackId).toBe('a-0');
      break;
    }
    await expect.poll(() => seen.receiveCancelled).toBe(before + 1);
  });

  it('end quietly when the signal aborts', async () => {
    const before = seen.receiveCancelled;
    const controller = new AbortController();
    const received: string[] = [];
    for await (const delivery of broker.receive(
      { destination: '/queue/forever' },
      { signal: controller.signal },
    )) {
      received.push(delivery.ackId);
      controller.abort();
    }
    expect(received).toEqual(['a-0']);
    await expect.poll(() => seen.receiveCancelled).toBe(before + 1);
  });
});

describe('standard services', () => {
  const require = createRequire(import.meta.url);

  function loadClient<T extends grpc.Client>(includeDir: string, file: string, service: string): T {
    const definition = protoLoader.loadSync(file, {
      includeDirs: [includeDir],
      defaults: true,
      enums: String,
    });
    const object = grpc.loadPackageDefinition(definition);
    const Ctor = service
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], object) as new (
      address: string,
      credentials: grpc.ChannelCredentials,
    ) => T;
    return new Ctor(address, grpc.credentials.createInsecure());
  }

  interface HealthClient extends grpc.Client {
    check(
      request: { service: string },
      callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
    ): void;
  }

  async function check(service: string): Promise<string> {
    const healthProtoRoot = path.resolve(
      path.dirname(require.resolve('grpc-health-check')),
      '../../proto',
    );
    const client = loadClient<HealthClient>(
      healthProtoRoot,
      'health/v1/health.proto',
      'grpc.health.v1.Health',
    );
    try {
      return await new Promise((resolve, reject) =>
        client.check({ service }, (error, response) =>
          error ? reject(fromGrpcError(error)) : resolve(response?.status ?? ''),
        ),
      );
    } finally {
      client.close();
    }
  }

  it('answer health checks, for the server and per service, as the caller sets them', async () => {
    expect(await check('')).toBe('SERVING');
    expect(await check(brokerServiceName)).toBe('SERVING');
    standard.setServing(false, brokerServiceName);
    expect(await check(brokerServiceName)).toBe('NOT_SERVING');
    expect(await check('')).toBe('SERVING');
    standard.setServing(false);
    expect(await check('')).toBe('NOT_SERVING');
    standard.setServing(true);
    expect(await check(brokerServiceName)).toBe('SERVING');
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: 'NotFound' });
  });

  interface ReflectionResponse {
    listServicesResponse?: { service: { name: string }[] };
    fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
    errorResponse?: { errorCode: number; errorMessage: string };
  }
  interface ReflectionClient extends grpc.Client {
    serverReflectionInfo(): grpc.ClientDuplexStream<Record<string, string>, ReflectionResponse>;
  }

  async function reflect(
    version: 'v1' | 'v1alpha',
    request: Record<string, string>,
  ): Promise<ReflectionResponse> {
    const reflectionProtoRoot = path.resolve(
      path.dirname(require.resolve('@grpc/reflection')),
      '../proto',
    );
    const client = loadClient<ReflectionClient>(
      reflectionProtoRoot,
      `grpc/reflection/${version}/reflection.proto`,
      `grpc.reflection.${version}.ServerReflection`,
    );
    try {
      const stream = client.serverReflectionInfo();
      const response = new Promise<ReflectionResponse>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      stream.write(request);
      stream.end();
      return await response;
    } finally {
      client.close();
    }
  }

  it.each(['v1', 'v1alpha'] as const)(
    'list the served services by reflection (%s), as `grpcurl list` does',
    async (version) => {
      const response = await reflect(version, { listServices: '' });
      const names = response.listServicesResponse?.service.map((s) => s.name).sort();
      expect(names).toEqual([
        brokerServiceName,
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
    },
  );

  it('describe a service by reflection, as `grpcurl describe` does', async () => {
    const response = await reflect('v1', { fileContainingSymbol: brokerServiceName });
    const files = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString('latin1')).toContain('BrokerService');
  });
});
