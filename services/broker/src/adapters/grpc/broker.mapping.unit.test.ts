import { hasErrorCode } from '@crdr/errors';
import type { brokerV1 } from '@crdr/proto';
import { describe, expect, it } from 'vitest';
import {
  defaultPrefetch,
  parseMillis,
  toAckMode,
  toProtoDelivery,
  toReceiveSubscription,
  toSendRequest,
} from './broker.mapping.js';

/** A SendRequest as a handler receives it (proto-loader `defaults: true`). */
function sendRequest(
  overrides: Partial<brokerV1.SendRequest__Output> = {},
): brokerV1.SendRequest__Output {
  return {
    destination: '/queue/orders',
    body: Buffer.from('hello'),
    headers: {},
    persistent: false,
    expiresAtMs: '0',
    scheduledDelayMs: '0',
    transactionId: '',
    ...overrides,
  };
}

function receiveRequest(
  overrides: Partial<brokerV1.ReceiveRequest__Output> = {},
): brokerV1.ReceiveRequest__Output {
  return {
    destination: '/queue/orders',
    ackMode: 'ACK_MODE_UNSPECIFIED',
    prefetch: 0,
    durableSubscriptionName: '',
    clientId: '',
    ...overrides,
  };
}

/** The BadRequest `fn` throws, with the field it names. */
function badRequestOf(fn: () => unknown): { message: string; field: string | undefined } {
  try {
    fn();
  } catch (error) {
    if (!hasErrorCode(error, 'BadRequest')) throw error;
    return { message: error.message, field: error.details['field'] };
  }
  throw new Error('expected a BadRequest');
}

describe('toSendRequest', () => {
  it('maps a minimal request with the defaults', () => {
    expect(toSendRequest(sendRequest())).toEqual({
      destination: '/queue/orders',
      headers: {},
      body: Buffer.from('hello'),
      persistent: false,
      priority: 4,
    });
  });

  it('maps every field, int64 strings to numbers', () => {
    const mapped = toSendRequest(
      sendRequest({
        destination: '/topic/prices',
        headers: { a: '1' },
        persistent: true,
        priority: 0,
        expiresAtMs: '1700000000000',
        scheduledDelayMs: '5000',
      }),
    );
    expect(mapped).toEqual({
      destination: '/topic/prices',
      headers: { a: '1' },
      body: Buffer.from('hello'),
      persistent: true,
      priority: 0,
      expiresAtMs: 1_700_000_000_000,
      scheduledDelayMs: 5000,
    });
  });

  it.each([
    [
      { destination: 'orders' },
      'destination',
      'destination must start with /queue/ or /topic/ (got "orders")',
    ],
    [{ destination: '/temp-queue/x' }, 'destination', undefined],
    [{ priority: 10 }, 'priority', 'priority must be 0-9 (got 10)'],
    [{ priority: -1 }, 'priority', undefined],
    [{ expiresAtMs: '-5' }, 'expires_at_ms', 'expires_at_ms must not be negative (got -5)'],
    [{ scheduledDelayMs: '9007199254740993' }, 'scheduled_delay_ms', undefined],
  ] as const)('refuses %o naming %s', (overrides, field, message) => {
    const error = badRequestOf(() => toSendRequest(sendRequest(overrides)));
    expect(error.field).toBe(field);
    if (message !== undefined) expect(error.message).toBe(message);
  });
});

describe('parseMillis', () => {
  it('reads 0 as unset', () => {
    expect(parseMillis('0', 'x')).toBeUndefined();
    expect(parseMillis('12', 'x')).toBe(12);
    expect(badRequestOf(() => parseMillis('abc', 'x')).field).toBe('x');
  });
});

describe('toAckMode', () => {
  it.each([
    ['ACK_MODE_UNSPECIFIED', 'auto'],
    ['AUTO', 'auto'],
    ['CLIENT', 'client'],
    ['CLIENT_INDIVIDUAL', 'client-individual'],
  ] as const)('maps %s to %s', (mode, expected) => {
    expect(toAckMode(mode)).toBe(expected);
  });

  it('refuses a value this broker does not know', () => {
    expect(badRequestOf(() => toAckMode(9)).message).toBe(
      'ack_mode must be AUTO, CLIENT or CLIENT_INDIVIDUAL (got 9)',
    );
  });
});

describe('toReceiveSubscription', () => {
  it('defaults the prefetch and leaves out the durable name', () => {
    expect(toReceiveSubscription(receiveRequest())).toEqual({
      subscribe: {
        id: 'grpc-receive',
        destination: '/queue/orders',
        ackMode: 'auto',
        prefetch: defaultPrefetch,
      },
      clientId: undefined,
    });
  });

  it('maps a durable topic subscription', () => {
    const { subscribe, clientId } = toReceiveSubscription(
      receiveRequest({
        destination: '/topic/prices',
        ackMode: 'CLIENT',
        prefetch: 10,
        durableSubscriptionName: 'sub',
        clientId: 'app-1',
      }),
    );
    expect(subscribe).toMatchObject({ ackMode: 'client', prefetch: 10, durableName: 'sub' });
    expect(clientId).toBe('app-1');
  });

  it('refuses a durable subscription without a client id or on a queue', () => {
    expect(
      badRequestOf(() =>
        toReceiveSubscription(
          receiveRequest({ destination: '/topic/t', durableSubscriptionName: 's' }),
        ),
      ).field,
    ).toBe('client_id');
    expect(
      badRequestOf(() =>
        toReceiveSubscription(receiveRequest({ durableSubscriptionName: 's', clientId: 'c' })),
      ).field,
    ).toBe('durable_subscription_name');
  });
});

describe('toProtoDelivery', () => {
  it('writes ms as int64 strings', () => {
    const delivery = toProtoDelivery({
      subscriptionId: 'grpc-receive',
      ackId: 'a1',
      messageId: 'm1',
      destination: '/queue/orders',
      headers: { h: 'v' },
      body: Buffer.from('x'),
      priority: 4,
      persistent: true,
      redelivered: true,
      redeliveryCount: 2,
      timestampMs: 1_700_000_000_000,
      expiresAtMs: 0,
    });
    expect(delivery).toEqual({
      ackId: 'a1',
      messageId: 'm1',
      destination: '/queue/orders',
      body: Buffer.from('x'),
      headers: { h: 'v' },
      priority: 4,
      redelivered: true,
      redeliveryCount: 2,
      timestampMs: '1700000000000',
      expiresAtMs: '0',
      persistent: true,
    });
  });
});
