import { hasErrorCode } from '@crdr/errors';
import { describe, expect, it } from 'vitest';
import {
  createBrokerRequestOf,
  echoValues,
  parseHeaderLines,
  promoteInputOf,
  sendToInputOf,
} from './forms.js';

const formOf = (entries: Record<string, string>): Map<string, string> =>
  new Map(Object.entries(entries));

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('Send To form', () => {
  it('builds count copies of one request, body as typed', () => {
    const input = sendToInputOf(
      formOf({
        type: 'queue',
        name: 'TestQueue',
        count: '10',
        body: '  test message\n',
        headers: 'color: blue\n\nJMSType:  order ',
        persistent: 'on',
        priority: '7',
      }),
    );
    expect(input).toMatchObject({ kind: 'queue', name: 'TestQueue', count: 10 });
    expect(input.request.destination).toBe('/queue/TestQueue');
    expect(Buffer.from(input.request.body as Buffer).toString()).toBe('  test message\n');
    expect(input.request.headers).toEqual({ color: 'blue', JMSType: 'order' });
    expect(input.request.persistent).toBe(true);
    expect(input.request.priority).toBe(7);
  });

  it('sends non-persistent messages when the box is unticked', () => {
    const input = sendToInputOf(formOf({ type: 'topic', name: 'news', count: '1', body: 'x' }));
    expect(input.request).toMatchObject({ destination: '/topic/news', persistent: false });
    expect(input.request.priority).toBeUndefined();
  });

  it.each([
    [{ type: 'queue', name: 'q', count: '0' }, 'number of messages'],
    [{ type: 'queue', name: 'q', count: '1.5' }, 'number of messages'],
    [{ type: 'queue', name: 'q', count: '10001' }, 'number of messages'],
    [{ type: 'queue', name: '', count: '1' }, 'destination name'],
    [{ type: 'mailbox', name: 'q', count: '1' }, 'type must be queue or topic'],
    [{ type: 'queue', name: 'q', count: '1', priority: '10' }, 'priority'],
    [{ type: 'queue', name: 'q', count: '1', headers: 'no colon here' }, 'headers line 1'],
  ])('refuses %j with a BadRequest naming the field', (entries, words) => {
    const error = errorOf(() => sendToInputOf(formOf(entries)));
    expect(hasErrorCode(error, 'BadRequest')).toBe(true);
    expect((error as Error).message).toContain(words);
  });

  it('reads header lines with colons in values', () => {
    expect(parseHeaderLines('a: b:c\r\nx:y')).toEqual({ a: 'b:c', x: 'y' });
  });
});

describe('Promote form', () => {
  it('needs exactly the word confirm', () => {
    expect(promoteInputOf(formOf({ mode: 'FAILOVER', confirm: 'confirm' }))).toEqual({
      mode: 'FAILOVER',
    });
    for (const confirm of ['Confirm', 'confirm ', ' confirm', 'confirmed', '']) {
      const error = errorOf(() => promoteInputOf(formOf({ mode: 'SWITCHOVER', confirm })));
      expect(hasErrorCode(error, 'BadRequest')).toBe(true);
    }
    const error = errorOf(() => promoteInputOf(formOf({ mode: 'NOW', confirm: 'confirm' })));
    expect((error as Error).message).toContain('SWITCHOVER or FAILOVER');
  });
});

describe('create broker form', () => {
  it('maps a replica form to a CRDR CreateBroker request with both users', () => {
    const request = createBrokerRequestOf(
      formOf({
        brokerName: ' Secondarybroker ',
        engineType: 'ACTIVEMQ',
        engineVersion: '5.18.4',
        hostInstanceType: 'mq.m5.large',
        deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
        primaryBrokerArn: 'arn:mq:region-a:local:broker:Primary:b-1',
        consoleUsername: 'admin',
        consolePassword: 'secret password',
        replicationUsername: 'replicator',
        replicationPassword: 'other secret',
      }),
      true,
      'request-1',
    );
    expect(request).toMatchObject({
      brokerName: 'Secondarybroker',
      dataReplicationMode: 'CRDR',
      dataReplicationPrimaryBrokerArn: 'arn:mq:region-a:local:broker:Primary:b-1',
      creatorRequestId: 'request-1',
      users: [
        { username: 'admin', password: 'secret password', consoleAccess: true },
        { username: 'replicator', password: 'other secret', replicationUser: true },
      ],
    });
  });

  it('leaves out an empty replication user and the replica fields of a standalone broker', () => {
    const request = createBrokerRequestOf(
      formOf({ brokerName: 'b', consoleUsername: 'admin', consolePassword: 'p' }),
      false,
      'r',
    );
    expect(request.users).toHaveLength(1);
    expect(request.dataReplicationMode).toBeUndefined();
  });

  it('never echoes passwords or tokens back into a form', () => {
    expect(
      echoValues(
        formOf({ brokerName: 'b', consolePassword: 'p', replicationPassword: 'q', _csrf: 't' }),
      ),
    ).toEqual({ brokerName: 'b' });
  });
});
