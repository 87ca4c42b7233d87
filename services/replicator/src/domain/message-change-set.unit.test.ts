import { describe, expect, it } from 'vitest';
import { DuplicateMessageKeyError, MessageChangeSet, type KeyedRow } from './message-change-set.js';

interface Row extends KeyedRow {
  readonly body: string;
}
const row = (seq: bigint, storeId = 1, priority = 4): Row => ({
  storeId,
  priority,
  seq,
  redeliveryCount: 0,
  body: `m${seq}`,
});
const key = (seq: bigint, storeId = 1, priority = 4) => ({ storeId, priority, seq });

describe('MessageChangeSet', () => {
  it('inserts what is sent and removes what was there before', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(10n));
    set.remove(key(3n));
    expect(set.drain()).toEqual({
      removals: [key(3n)],
      inserts: [row(10n)],
      counts: [],
      marks: [],
    });
  });

  it('writes nothing for a message sent and acknowledged in the same run', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(10n));
    set.setRedeliveryCount(key(10n), 1);
    set.remove(key(10n));
    expect(set.drain()).toEqual({ removals: [], inserts: [], counts: [], marks: [] });
  });

  it('folds a count into a row sent in the run', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(10n));
    set.setRedeliveryCount(key(10n), 2);
    set.setRedeliveryCount(key(10n), 3);
    expect(set.drain().inserts).toEqual([{ ...row(10n), redeliveryCount: 3 }]);
  });

  it('sets the last count on a row from before the run, and none on a removed one', () => {
    const set = new MessageChangeSet<Row>();
    set.setRedeliveryCount(key(1n), 1);
    set.setRedeliveryCount(key(1n), 2);
    set.setRedeliveryCount(key(2n), 1);
    set.remove(key(2n));
    set.setRedeliveryCount(key(2n), 5);
    const changes = set.drain();
    expect(changes.counts).toEqual([{ key: key(1n), count: 2 }]);
    expect(changes.removals).toEqual([key(2n)]);
  });

  it('moves a message to the dead letter queue as a removal and an insert', () => {
    const set = new MessageChangeSet<Row>();
    set.remove(key(5n, 1));
    set.insert(row(5n, 99));
    expect(set.drain()).toMatchObject({ removals: [key(5n, 1)], inserts: [row(5n, 99)] });
  });

  it('keeps a removal before a re-insert of the same key', () => {
    const set = new MessageChangeSet<Row>();
    set.remove(key(5n));
    set.insert(row(5n));
    expect(set.drain()).toMatchObject({ removals: [key(5n)], inserts: [row(5n)] });
  });

  it('keys on store, priority and seq', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(5n, 1, 4));
    set.insert(row(5n, 1, 9));
    set.insert(row(5n, 2, 4));
    expect(set.drain().inserts).toHaveLength(3);
  });

  it('refuses a key sent twice', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(5n));
    expect(() => set.insert(row(5n))).toThrow(DuplicateMessageKeyError);
  });

  it('keeps the highest dispatch mark per store', () => {
    const set = new MessageChangeSet<Row>();
    set.markDispatched(1, 10n);
    set.markDispatched(1, 7n);
    set.markDispatched(2, 3n);
    expect(set.drain().marks).toEqual([
      { storeId: 1, seq: 10n },
      { storeId: 2, seq: 3n },
    ]);
  });

  it('is empty after a drain', () => {
    const set = new MessageChangeSet<Row>();
    set.insert(row(1n));
    expect(set.size).toBe(1);
    set.drain();
    expect(set.size).toBe(0);
    expect(set.drain()).toEqual({ removals: [], inserts: [], counts: [], marks: [] });
  });
});
