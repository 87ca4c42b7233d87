/**
 * The net effect of a run of message-level changes (sends, acknowledgements, redelivery counts,
 * dispatch marks), so that a batch of events becomes a few set-based statements instead of one
 * per event, with the same end state as applying the events one by one.
 *
 * A message is named by its key (store, priority, seq); on the primary a key is written once and
 * removed once. Per key the set keeps whether a row that existed before the run must go, the row
 * the run leaves (sent in the run and still there), or the count to set on a row that stays.
 * A message sent and acknowledged within the run leaves nothing to write. The caller applies
 * `removals` first, then `inserts`, then `counts` and `marks`: removals only ever name rows from
 * before the run and inserts only rows of the run, so no row is touched twice by one statement.
 */

export interface MessageKey {
  readonly storeId: number;
  readonly priority: number;
  readonly seq: bigint;
}

/** A message row as the run carries it; only the key and the count matter here. */
export interface KeyedRow {
  readonly storeId: number;
  readonly priority: number;
  readonly seq: bigint;
  readonly redeliveryCount: number;
}

export interface RedeliveryCountChange {
  readonly key: MessageKey;
  readonly count: number;
}

export interface DispatchMark {
  readonly storeId: number;
  readonly seq: bigint;
}

export interface MessageChanges<Row extends KeyedRow> {
  /** Rows from before the run to delete. */
  readonly removals: readonly MessageKey[];
  /** Rows to insert (sent in the run, not removed in it), with their last count. */
  readonly inserts: readonly Row[];
  /** Counts to set on rows from before the run that stay. */
  readonly counts: readonly RedeliveryCountChange[];
  /** Per store, the highest dispatch mark of the run (marks only grow). */
  readonly marks: readonly DispatchMark[];
}

interface Entry<Row> {
  readonly key: MessageKey;
  removeExisting: boolean;
  insert: Row | undefined;
  count: number | undefined;
}

/** Thrown when a run sends the same key twice: the store would refuse it too. */
export class DuplicateMessageKeyError extends Error {
  constructor(readonly key: MessageKey) {
    super(`message ${keyText(key)} is sent twice`);
    this.name = 'DuplicateMessageKeyError';
  }
}

const keyText = (key: MessageKey): string => `${key.storeId}/${key.priority}/${key.seq}`;

export class MessageChangeSet<Row extends KeyedRow> {
  readonly #entries = new Map<string, Entry<Row>>();
  readonly #marks = new Map<number, bigint>();
  #changes = 0;

  /** How many changes were recorded since the last drain. */
  get size(): number {
    return this.#changes;
  }

  insert(row: Row): void {
    const entry = this.#entry(row);
    if (entry.insert !== undefined) throw new DuplicateMessageKeyError(entry.key);
    entry.insert = row;
    entry.count = undefined;
    this.#changes++;
  }

  remove(key: MessageKey): void {
    const entry = this.#entry(key);
    if (entry.insert !== undefined) entry.insert = undefined;
    else entry.removeExisting = true;
    entry.count = undefined;
    this.#changes++;
  }

  /** Counts never go down, as on the primary: the run keeps the highest it saw. */
  setRedeliveryCount(key: MessageKey, count: number): void {
    const entry = this.#entry(key);
    if (entry.insert !== undefined) {
      const highest = Math.max(entry.insert.redeliveryCount, count);
      entry.insert = { ...entry.insert, redeliveryCount: highest };
    } else if (!entry.removeExisting) entry.count = Math.max(entry.count ?? 0, count);
    this.#changes++;
  }

  markDispatched(storeId: number, seq: bigint): void {
    const current = this.#marks.get(storeId);
    if (current === undefined || current < seq) this.#marks.set(storeId, seq);
    this.#changes++;
  }

  /** The net changes recorded so far; the set is empty afterwards. */
  drain(): MessageChanges<Row> {
    const removals: MessageKey[] = [];
    const inserts: Row[] = [];
    const counts: RedeliveryCountChange[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.removeExisting) removals.push(entry.key);
      if (entry.insert !== undefined) inserts.push(entry.insert);
      else if (entry.count !== undefined) counts.push({ key: entry.key, count: entry.count });
    }
    const marks = [...this.#marks].map(([storeId, seq]) => ({ storeId, seq }));
    this.#entries.clear();
    this.#marks.clear();
    this.#changes = 0;
    return { removals, inserts, counts, marks };
  }

  #entry(key: MessageKey): Entry<Row> {
    const text = keyText(key);
    let entry = this.#entries.get(text);
    if (entry === undefined) {
      entry = {
        key: { storeId: key.storeId, priority: key.priority, seq: key.seq },
        removeExisting: false,
        insert: undefined,
        count: undefined,
      };
      this.#entries.set(text, entry);
    }
    return entry;
  }
}
