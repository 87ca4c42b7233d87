import {
  connect,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { randomBytes } from 'node:crypto';
import {
  decodeEvent,
  encodeEvent,
  ensureReplicationConsumer,
  replicationMessageId,
  replicationStreamName,
  replicationSubject,
  splitEvent,
  type DecodedEvent,
  type ReplicationConsumerOptions,
  type ReplicationEvent,
} from '@crdr/replication';

/** A change as the primary writes it, without the envelope. */
export type Change = Omit<
  ReplicationEvent,
  'version' | 'sequence' | 'epoch' | 'createdAtMs' | 'brokerId' | 'traceContext' | 'change'
>;

export const localNatsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** Unique broker ids per test, so that streams and consumers never collide across files. */
export function uniqueBrokerIds(prefix: string): { primary: string; replica: string } {
  const tag = randomBytes(4).toString('hex');
  return { primary: `${prefix}-p-${tag}`, replica: `${prefix}-r-${tag}` };
}

export interface StoredMessageInput {
  readonly storeId: number;
  readonly seq: bigint | number;
  readonly priority?: number;
  readonly body?: Buffer | string;
  readonly messageId?: string;
  readonly destination?: string;
  readonly headers?: Record<string, string>;
  readonly expiresAtMs?: number;
  readonly redeliveryCount?: number;
}

export function stored(m: StoredMessageInput) {
  const body = m.body === undefined ? Buffer.from(`body-${m.seq}`) : Buffer.from(m.body);
  return {
    storeId: m.storeId,
    priority: m.priority ?? 4,
    seq: String(m.seq),
    messageId: m.messageId ?? `ID:primary-${m.seq}`,
    destination: m.destination ?? '/queue/Q',
    headers: m.headers ?? { persistent: 'true' },
    body,
    expiresAtMs: String(m.expiresAtMs ?? 0),
    enqueuedAtMs: '1764000000000',
    redeliveryCount: m.redeliveryCount ?? 0,
  };
}

export function key(storeId: number, seq: bigint | number, priority = 4) {
  return { storeId, priority, seq: String(seq) };
}

/** Numbers changes as a primary does (gap-free from 1), at an epoch the test chooses. */
export class EventFactory {
  sequence = 0n;
  epoch = 1n;
  constructor(readonly brokerId: string) {}

  /** The next event, encoded. */
  next(change: Change, overrides: Partial<ReplicationEvent> = {}): Uint8Array {
    this.sequence++;
    return encodeEvent({
      sequence: this.sequence.toString(),
      epoch: this.epoch.toString(),
      createdAtMs: String(Date.now()),
      brokerId: this.brokerId,
      ...change,
      ...overrides,
    });
  }

  /** The next event, decoded as the replicator sees it. */
  decoded(change: Change): DecodedEvent {
    return decodeEvent(this.next(change));
  }
}

/** A primary's replication stream on a real NATS, published to as the relay does. */
export class TestLog {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly primary: string,
    readonly events: EventFactory,
  ) {}

  static async create(
    primary: string,
    url = localNatsUrl,
    options: {
      user?: string;
      pass?: string;
      tls?: { ca?: string; cert?: string; key?: string };
    } = {},
  ): Promise<TestLog> {
    const nc = await connect({ servers: url, ...options });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: replicationStreamName(primary),
      subjects: [replicationSubject(primary)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
    });
    return new TestLog(nc, jsm, primary, new EventFactory(primary));
  }

  provision(replica: string, options?: ReplicationConsumerOptions) {
    return ensureReplicationConsumer(this.jsm, this.primary, replica, options);
  }

  /** Publishes an encoded event with msgID = its sequence, as the relay does. */
  async publishEncoded(bytes: Uint8Array, sequence: bigint): Promise<void> {
    await this.nc.jetstream().publish(replicationSubject(this.primary), bytes, {
      msgID: replicationMessageId(sequence),
    });
  }

  async publish(change: Change, overrides: Partial<ReplicationEvent> = {}): Promise<bigint> {
    await this.publishEncoded(this.events.next(change, overrides), this.events.sequence);
    return this.events.sequence;
  }

  /**
   * The next event, split into parts as the relay splits an event longer than the NATS max
   * payload, for an attempt starting at the stream's next message; nothing is published.
   */
  async parts(
    change: Change,
    maxPayloadBytes: number,
  ): Promise<{ sequence: bigint; bytes: Uint8Array; parts: Uint8Array[] }> {
    const bytes = this.events.next(change);
    const sequence = this.events.sequence;
    return { sequence, bytes, parts: await this.split(sequence, bytes, maxPayloadBytes) };
  }

  /** `bytes` (event `sequence`) split again, for a new attempt from the stream's next message. */
  async split(sequence: bigint, bytes: Uint8Array, maxPayloadBytes: number): Promise<Uint8Array[]> {
    const info = await this.jsm.streams.info(replicationStreamName(this.primary));
    const attempt = BigInt(info.state.last_seq) + 1n;
    return [...splitEvent(bytes, { sequence, createdAtMs: Date.now(), attempt }, maxPayloadBytes)];
  }

  /** Publishes parts in order, each with its own msg id as the relay gives them. */
  async publishParts(sequence: bigint, parts: readonly Uint8Array[], from = 0): Promise<void> {
    const js = this.nc.jetstream();
    const info = await this.jsm.streams.info(replicationStreamName(this.primary));
    const tag = `${info.state.last_seq}-${from}`;
    for (let i = 0; i < parts.length; i++) {
      await js.publish(replicationSubject(this.primary), parts[i], {
        msgID: `${replicationMessageId(sequence)}.${tag}.${i}`,
      });
    }
  }

  /** Publishes many changes without waiting for each acknowledgement in turn. */
  async publishMany(changes: readonly Change[], window = 1000): Promise<bigint> {
    const js = this.nc.jetstream();
    const subject = replicationSubject(this.primary);
    for (let i = 0; i < changes.length; i += window) {
      await Promise.all(
        changes.slice(i, i + window).map((change) => {
          const bytes = this.events.next(change);
          return js.publish(subject, bytes, {
            msgID: replicationMessageId(this.events.sequence),
          });
        }),
      );
    }
    return this.events.sequence;
  }

  async close(): Promise<void> {
    await this.jsm.streams.delete(replicationStreamName(this.primary)).catch(() => undefined);
    await this.nc.close();
  }
}
