import { badRequest } from '@crdr/errors';
import { escapeHeader, isStompEncodeError, type StompVersion } from '@crdr/stomp';
import type { AckMode } from '../../engine/engine.types.js';

/** Headers STOMP or ActiveMQ give a meaning to on SEND; the rest travel with the message. */
const sendControlHeaders = new Set([
  'destination',
  'receipt',
  'transaction',
  'content-length',
  'persistent',
  'priority',
  'expires',
  'AMQ_SCHEDULED_DELAY',
  'message-id',
  'subscription',
  'ack',
  'redelivered',
  'timestamp',
]);

export function userHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (!sendControlHeaders.has(name)) out[name] = headers[name]!;
  }
  return out;
}

export function required(
  headers: Readonly<Record<string, string>>,
  name: string,
  command: string,
): string {
  const value = headers[name];
  if (value === undefined || value === '')
    throw badRequest(`${command} frame is missing the required "${name}" header`);
  return value;
}

export function parseIntegerHeader(
  headers: Readonly<Record<string, string>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = headers[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`header "${name}" must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

export function parseAckMode(raw: string | undefined): AckMode {
  switch (raw) {
    case undefined:
    case '':
    case 'auto':
      return 'auto';
    case 'client':
      return 'client';
    case 'client-individual':
      return 'client-individual';
    default:
      throw badRequest(`invalid ack mode "${raw}": use auto, client or client-individual`);
  }
}

export function parseBoolean(raw: string | undefined): boolean {
  return raw === 'true';
}

/**
 * Whether a header can be written in `version`'s frames: STOMP 1.0 has no escaping (no line
 * feed, no trailing carriage return, no ':' in a name) and 1.1 cannot escape a carriage return.
 */
export function canEncodeHeader(name: string, value: string, version: StompVersion): boolean {
  if (version === '1.2') return true;
  try {
    escapeHeader(name, version, 'name');
    escapeHeader(value, version, 'value');
    return true;
  } catch (error) {
    if (isStompEncodeError(error)) return false;
    throw error;
  }
}

/**
 * The durable subscription a SUBSCRIBE or UNSUBSCRIBE names: ActiveMQ 5.x reads
 * `activemq.subscriptionName`; `durable-subscription-name` (and Artemis's
 * `durable-subscriber-name`) name the same thing for clients written against other brokers.
 */
export function durableSubscriptionName(
  headers: Readonly<Record<string, string>>,
): string | undefined {
  for (const name of [
    'activemq.subscriptionName',
    'durable-subscription-name',
    'durable-subscriber-name',
  ]) {
    const value = headers[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}
