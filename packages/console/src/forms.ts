import { badRequest } from '@crdr/errors';
import type { brokerV1, controlPlaneV1 } from '@crdr/proto';

/** A submitted form: the first value of each field. */
export type Form = ReadonlyMap<string, string>;

const field = (form: Form, name: string): string => (form.get(name) ?? '').trim();

/** Every field but passwords and the CSRF token, to fill the form again after an error. */
export function echoValues(form: Form): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of form) {
    if (key.startsWith('_') || key.toLowerCase().includes('password')) continue;
    values[key] = value;
  }
  return values;
}

function usersOf(form: Form): controlPlaneV1.UserInput[] {
  const users: controlPlaneV1.UserInput[] = [];
  const consoleUsername = field(form, 'consoleUsername');
  if (consoleUsername !== '' || (form.get('consolePassword') ?? '') !== '') {
    users.push({
      username: consoleUsername,
      password: form.get('consolePassword') ?? '',
      consoleAccess: true,
    });
  }
  const replicationUsername = field(form, 'replicationUsername');
  if (replicationUsername !== '' || (form.get('replicationPassword') ?? '') !== '') {
    users.push({
      username: replicationUsername,
      password: form.get('replicationPassword') ?? '',
      replicationUser: true,
    });
  }
  return users;
}

/**
 * The CreateBroker request of the create-broker or create-replica form. The control plane does
 * the checks (so the console shows exactly the API's messages); the console only maps fields.
 * `requestId` makes a double-submitted form create one broker.
 */
export function createBrokerRequestOf(
  form: Form,
  replica: boolean,
  requestId: string,
): controlPlaneV1.CreateBrokerRequest {
  return {
    brokerName: field(form, 'brokerName'),
    engineType: field(form, 'engineType'),
    engineVersion: field(form, 'engineVersion'),
    hostInstanceType: field(form, 'hostInstanceType'),
    deploymentMode: field(form, 'deploymentMode'),
    users: usersOf(form),
    ...(replica
      ? {
          dataReplicationMode: 'CRDR',
          dataReplicationPrimaryBrokerArn: field(form, 'primaryBrokerArn'),
        }
      : {}),
    creatorRequestId: requestId,
  };
}

export type DestinationKind = 'queue' | 'topic';

export function destinationKindOf(value: string | undefined): DestinationKind {
  if (value === 'queue' || value === 'topic') return value;
  throw badRequest(`type must be queue or topic (got "${value ?? ''}")`);
}

export function destinationTypeOf(kind: DestinationKind): brokerV1.DestinationType {
  return kind === 'queue' ? 'QUEUE' : 'TOPIC';
}

/** `name: value` lines (blank lines skipped) as message headers. */
export function parseHeaderLines(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw badRequest(`headers line ${index + 1} must be "name: value" (got "${line.trim()}")`);
    const name = line.slice(0, colon).trim();
    if (name === '') throw badRequest(`headers line ${index + 1} has no name`);
    headers[name] = line.slice(colon + 1).trim();
  });
  return headers;
}

/** The most messages one Send To may send. */
export const maxSendCount = 10_000;

export interface SendToInput {
  readonly kind: DestinationKind;
  readonly name: string;
  readonly count: number;
  readonly request: brokerV1.SendRequest;
}

/** The Send To form as `count` copies of one SendRequest, with every field checked. */
export function sendToInputOf(form: Form): SendToInput {
  const kind = destinationKindOf(form.get('type'));
  const name = field(form, 'name');
  if (name === '') throw badRequest('destination name is required');
  const countText = field(form, 'count') || '1';
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > maxSendCount)
    throw badRequest(
      `number of messages must be a whole number from 1 to ${maxSendCount} (got "${countText}")`,
    );
  const priorityText = field(form, 'priority');
  let priority: number | undefined;
  if (priorityText !== '') {
    priority = Number(priorityText);
    if (!Number.isInteger(priority) || priority < 0 || priority > 9)
      throw badRequest(`priority must be a whole number from 0 to 9 (got "${priorityText}")`);
  }
  const headers = parseHeaderLines(form.get('headers') ?? '');
  return {
    kind,
    name,
    count,
    request: {
      destination: `/${kind}/${name}`,
      // The body exactly as typed: no trimming.
      body: Buffer.from(form.get('body') ?? '', 'utf8'),
      headers,
      persistent: form.get('persistent') === 'on',
      ...(priority === undefined ? {} : { priority }),
    },
  };
}

/** Promote's form: a mode and the word `confirm`, typed exactly. */
export function promoteInputOf(form: Form): { readonly mode: 'SWITCHOVER' | 'FAILOVER' } {
  const mode = field(form, 'mode');
  if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER')
    throw badRequest(`promotion mode must be SWITCHOVER or FAILOVER (got "${mode}")`);
  if ((form.get('confirm') ?? '') !== 'confirm')
    throw badRequest('type confirm in the box to promote the replica');
  return { mode };
}

export function groupsOf(text: string): string[] {
  return text
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
}
