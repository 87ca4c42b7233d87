import { describe, expect, it } from 'vitest';
import { replicationUserPermissions } from './replication-permissions.js';

describe('replicationUserPermissions', () => {
  it('allows the one consumer of the one stream and the inbox, nothing else', () => {
    expect(replicationUserPermissions('REPL_B1', 'replicator')).toEqual({
      publish: {
        allow: [
          '$JS.API.CONSUMER.INFO.REPL_B1.replicator',
          '$JS.API.CONSUMER.MSG.NEXT.REPL_B1.replicator',
          '$JS.ACK.REPL_B1.replicator.>',
        ],
      },
      subscribe: { allow: ['_INBOX.>'] },
    });
  });

  it('takes a private inbox prefix', () => {
    expect(
      replicationUserPermissions('S', 'C', { inboxPrefix: '_INBOX_repl.b1' }).subscribe,
    ).toEqual({ allow: ['_INBOX_repl.b1.>'] });
  });

  it.each([
    ['REPL.*', 'c'],
    ['REPL', '>'],
    ['REPL', 'a.b'],
    ['', 'c'],
    ['REPL A', 'c'],
  ])('refuses names that would widen the permissions: %j %j', (stream, consumer) => {
    expect(() => replicationUserPermissions(stream, consumer)).toThrow(/single NATS subject token/);
  });
});
