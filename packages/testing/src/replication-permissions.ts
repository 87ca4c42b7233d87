import type { NatsPermissions } from './nats-config.js';

export interface ReplicationPermissionOptions {
  /**
   * The inbox prefix the replicator connects with (the `nats` client's `inboxPrefix` option).
   * Default `_INBOX`, the client's own default. A private prefix such as `_INBOX_replicator_b`
   * is tighter: with `_INBOX.>` the user could subscribe to the replies other users of the
   * account receive, e.g. their own fetches from other streams.
   */
  readonly inboxPrefix?: string;
}

/**
 * The permissions of a replication user: it reads the replication stream `stream` through its
 * one durable pull consumer `consumer`, which an administrator created, and can do nothing
 * else. Proven minimal for nats-server 2.9 and the `nats` v2 client in
 * `replication-permissions.int.test.ts` (without any one entry, reading or acking fails):
 *
 * - publish `$JS.API.CONSUMER.INFO.<stream>.<consumer>`: `js.consumers.get(stream, consumer)`
 *   looks the consumer up, and `consume()`/`fetch()` look it up again after missed heartbeats.
 * - publish `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`: the pull requests of `fetch()`,
 *   `consume()` and `next()`.
 * - publish `$JS.ACK.<stream>.<consumer>.>`: `ack()`, `nak()`, `working()`, `term()` and
 *   `ackAck()` reply to the message's reply subject, which for nats-server 2.9 (no JetStream
 *   domain) is `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`.
 * - subscribe `<inboxPrefix>.>`: pulled messages, API responses and `ackAck()` confirmations
 *   arrive on the client's inbox.
 *
 * Not granted, and not needed: `$JS.API.INFO` (only `jetstreamManager()` asks for it; use
 * `nc.jetstream()`), `$JS.API.STREAM.INFO.<stream>` (pending counts are in the consumer info),
 * any CREATE, DELETE, PURGE or MSG.GET, any stream subject (so the replica can neither read the
 * log around its consumer nor write into the primary's log), and `_INBOX` replies
 * (`allow_responses`), so the user cannot answer requests either.
 *
 * Throws when a name could widen the permissions (`.`, `*`, `>` or whitespace in it).
 */
export function replicationUserPermissions(
  stream: string,
  consumer: string,
  options: ReplicationPermissionOptions = {},
): NatsPermissions {
  assertToken('stream', stream);
  assertToken('consumer', consumer);
  const inboxPrefix = options.inboxPrefix ?? '_INBOX';
  for (const token of inboxPrefix.split('.')) assertToken('inboxPrefix', token);
  return {
    publish: {
      allow: [
        `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        `$JS.ACK.${stream}.${consumer}.>`,
      ],
    },
    subscribe: { allow: [`${inboxPrefix}.>`] },
  };
}

function assertToken(what: string, value: string): void {
  if (value === '' || /[.*>\s]/.test(value))
    throw new Error(`${what} ${JSON.stringify(value)} is not a single NATS subject token`);
}

/**
 * The permissions of a Region-wide replication user, for a NATS server whose replication logs
 * come and go while it runs (a control plane pairs and unpairs brokers): read through any
 * stream's consumers and ack, nothing else — no stream subject, no CREATE, DELETE, PURGE or
 * MSG.GET, no publish into a log. Wider than {@link replicationUserPermissions}, which names one
 * stream and consumer, but the NATS servers of this project hold only replication logs.
 */
export function replicationUserWildcardPermissions(
  options: ReplicationPermissionOptions = {},
): NatsPermissions {
  const inboxPrefix = options.inboxPrefix ?? '_INBOX';
  for (const token of inboxPrefix.split('.')) assertToken('inboxPrefix', token);
  return {
    publish: {
      allow: ['$JS.API.CONSUMER.INFO.*.*', '$JS.API.CONSUMER.MSG.NEXT.*.*', '$JS.ACK.>'],
    },
    subscribe: { allow: [`${inboxPrefix}.>`] },
  };
}
