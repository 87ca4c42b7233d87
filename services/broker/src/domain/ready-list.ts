/** What a ready list orders: higher priority first, then lower seq (FIFO within a priority). */
export interface Ordered {
  readonly priority: number;
  readonly seq: bigint;
}

/**
 * The messages of one store that wait for a consumer, as ten FIFO lanes, one per priority.
 * Appends are O(1); a returned (nacked) message is put back in seq order within its lane.
 */
export class ReadyList<T extends Ordered> {
  readonly #lanes: T[][] = Array.from({ length: 10 }, () => []);
  readonly #heads: number[] = new Array<number>(10).fill(0);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    const lane = this.#lanes[item.priority]!;
    const head = this.#heads[item.priority]!;
    const last = lane.length > head ? lane[lane.length - 1]! : undefined;
    if (last === undefined || last.seq < item.seq) lane.push(item);
    else this.#insertSorted(item);
    this.#size++;
  }

  /** Puts back a message that had been taken; keeps seq order in its lane. */
  putBack(item: T): void {
    this.#insertSorted(item);
    this.#size++;
  }

  peek(): T | undefined {
    for (let p = 9; p >= 0; p--) {
      const lane = this.#lanes[p]!;
      const head = this.#heads[p]!;
      if (head < lane.length) return lane[head];
    }
    return undefined;
  }

  shift(): T | undefined {
    for (let p = 9; p >= 0; p--) {
      const lane = this.#lanes[p]!;
      const head = this.#heads[p]!;
      if (head < lane.length) {
        const item = lane[head]!;
        this.#heads[p] = head + 1;
        this.#size--;
        this.#compact(p);
        return item;
      }
    }
    return undefined;
  }

  /** Removes and returns every item matching the predicate. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (let p = 0; p < 10; p++) {
      const lane = this.#lanes[p]!;
      const head = this.#heads[p]!;
      const kept: T[] = [];
      for (let i = head; i < lane.length; i++) {
        const item = lane[i]!;
        if (predicate(item)) removed.push(item);
        else kept.push(item);
      }
      this.#lanes[p] = kept;
      this.#heads[p] = 0;
    }
    this.#size -= removed.length;
    return removed;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let p = 9; p >= 0; p--) {
      const lane = this.#lanes[p]!;
      for (let i = this.#heads[p]!; i < lane.length; i++) yield lane[i]!;
    }
  }

  clear(): T[] {
    return this.removeWhere(() => true);
  }

  #insertSorted(item: T): void {
    const p = item.priority;
    const lane = this.#lanes[p]!;
    let lo = this.#heads[p]!;
    let hi = lane.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lane[mid]!.seq < item.seq) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.#heads[p]! && lo > 0) {
      // Reuse the consumed slot in front of the head instead of shifting the lane.
      this.#heads[p] = lo - 1;
      lane[lo - 1] = item;
    } else {
      lane.splice(lo, 0, item);
    }
  }

  #compact(p: number): void {
    const head = this.#heads[p]!;
    const lane = this.#lanes[p]!;
    if (head === lane.length) {
      this.#lanes[p] = [];
      this.#heads[p] = 0;
    } else if (head > 1024 && head * 2 > lane.length) {
      this.#lanes[p] = lane.slice(head);
      this.#heads[p] = 0;
    }
  }
}
