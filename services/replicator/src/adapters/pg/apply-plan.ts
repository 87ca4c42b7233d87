import type { replicationV1 } from '@crdr/proto';
import type { DecodedEvent } from '@crdr/replication';
import type { MessageRow } from '@crdr/store';
import {
  MessageChangeSet,
  type MessageChanges,
  type MessageKey,
} from '../../domain/message-change-set.js';

type StoredMessage = replicationV1.StoredMessage__Output;
type ProtoKey = replicationV1.MessageKey__Output;

/** A message row as the store takes it, keyed with a bigint seq. */
export type ReplicaRow = MessageRow & { readonly seq: bigint };

/** Changes of destinations, subscriptions and users: rare, applied one by one, in order. */
export type StructuralEvent = DecodedEvent & {
  readonly change:
    | 'destinationCreated'
    | 'destinationDeleted'
    | 'destinationPurged'
    | 'durableSubscriptionAdded'
    | 'durableSubscriptionRemoved'
    | 'usersChanged';
};

export type ApplyStep =
  /** A new log opens with a snapshot: the replica's state is cleared, the snapshot follows. */
  | { readonly kind: 'reset' }
  | { readonly kind: 'messages'; readonly changes: MessageChanges<ReplicaRow> }
  | { readonly kind: 'structural'; readonly event: StructuralEvent };

/** Thrown when the replica's store does not hold what an event says it holds. */
export class ReplicaDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicaDivergedError';
  }
}

/**
 * Turns a batch of events into the steps that apply it, in the log's order. Message-level
 * changes (sent, acknowledged, redelivery counts, dead-lettered, expired, committed
 * transactions, dispatch marks) between two structural changes fold into one step of net
 * changes (a message sent and consumed within it leaves nothing to write); each structural
 * change is a step of its own. Heartbeats and switchover markers change nothing: applying them
 * moves the applied sequence, which is their point (a switchover waits for its marker's
 * sequence to know both stores are identical).
 */
export function planApply(events: readonly DecodedEvent[]): ApplyStep[] {
  const steps: ApplyStep[] = [];
  const run = new MessageChangeSet<ReplicaRow>();
  const closeRun = (): void => {
    if (run.size > 0) steps.push({ kind: 'messages', changes: run.drain() });
  };
  for (const event of events) {
    switch (event.change) {
      case 'messageSent':
        for (const row of event.messageSent!.rows) run.insert(toRow(row));
        break;
      case 'messageAcknowledged':
        for (const key of event.messageAcknowledged!.keys) run.remove(toKey(key));
        break;
      case 'redeliveryCountChanged':
        for (const c of event.redeliveryCountChanged!.counts) {
          run.setRedeliveryCount(toKey(required(c.key, 'redelivery count key')), c.count);
        }
        break;
      case 'movedToDeadLetterQueue': {
        const moved = event.movedToDeadLetterQueue!;
        run.remove(toKey(required(moved.from, 'dead-lettered message key')));
        run.insert(toRow(required(moved.to, 'dead letter')));
        break;
      }
      case 'messageExpired': {
        const expired = event.messageExpired!;
        run.remove(toKey(required(expired.key, 'expired message key')));
        if (expired.deadLetter) run.insert(toRow(expired.deadLetter));
        break;
      }
      case 'transactionCommitted': {
        // One atomic group on the primary; here it is part of one transaction as well.
        const committed = event.transactionCommitted!;
        for (const row of committed.sent) run.insert(toRow(row));
        for (const key of committed.acknowledged) run.remove(toKey(key));
        break;
      }
      case 'dispatchMarkAdvanced':
        for (const mark of event.dispatchMarkAdvanced!.marks) {
          run.markDispatched(mark.storeId, BigInt(mark.seq));
        }
        break;
      case 'heartbeat':
      case 'switchoverMarker':
        break;
      case 'logStarted':
        if (event.logStarted!.snapshot) {
          closeRun();
          steps.push({ kind: 'reset' });
        }
        break;
      case 'destinationCreated':
      case 'destinationDeleted':
      case 'destinationPurged':
      case 'durableSubscriptionAdded':
      case 'durableSubscriptionRemoved':
      case 'usersChanged':
        closeRun();
        steps.push({ kind: 'structural', event: event as StructuralEvent });
        break;
      case undefined:
        throw new ReplicaDivergedError(`event ${event.sequence} carries no change`);
    }
  }
  closeRun();
  return steps;
}

/**
 * Whether the plan can run as one statement: at most one step of message changes, in which no
 * key is both removed and inserted (one statement may not touch a row twice).
 */
export function fitsOneStatement(steps: readonly ApplyStep[]): boolean {
  const [step, ...more] = steps;
  if (step === undefined) return true;
  if (more.length > 0 || step.kind !== 'messages') return false;
  const { removals, inserts } = step.changes;
  if (removals.length === 0 || inserts.length === 0) return true;
  const removed = new Set(removals.map(keyText));
  return !inserts.some((row) => removed.has(keyText(row)));
}

const keyText = (key: MessageKey): string => `${key.storeId}/${key.priority}/${key.seq}`;

function toRow(m: StoredMessage): ReplicaRow {
  return {
    storeId: m.storeId,
    priority: m.priority,
    seq: BigInt(m.seq),
    messageId: m.messageId,
    destination: m.destination,
    headers: m.headers,
    body: Buffer.isBuffer(m.body) ? m.body : Buffer.from(m.body),
    expiresAtMs: Number(m.expiresAtMs),
    enqueuedAtMs: Number(m.enqueuedAtMs),
    redeliveryCount: m.redeliveryCount,
  };
}

function toKey(k: ProtoKey): MessageKey {
  return { storeId: k.storeId, priority: k.priority, seq: BigInt(k.seq) };
}

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) {
    throw new ReplicaDivergedError(`an event lacks its ${what}`);
  }
  return value;
}
