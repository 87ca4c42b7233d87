interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Receipts the client waits for, by receipt id (`r1`, `r2`, ...). */
export class PendingReceipts {
  private readonly waiters = new Map<string, Waiter>();
  private counter = 0;

  get size(): number {
    return this.waiters.size;
  }

  /** Allocates a receipt id and the promise settled when the server answers it. */
  create(): { readonly id: string; readonly done: Promise<void> } {
    const id = `r${++this.counter}`;
    const done = new Promise<void>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    return { id, done };
  }

  /** Runs `send` with a new receipt id; the promise settles when the server answers it. */
  request(send: (receiptId: string) => void): Promise<void> {
    const { id, done } = this.create();
    try {
      send(id);
    } catch (e) {
      this.reject(id, e instanceof Error ? e : new Error(String(e)));
    }
    return done;
  }

  resolve(id: string): boolean {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return false;
    this.waiters.delete(id);
    waiter.resolve();
    return true;
  }

  reject(id: string, error: Error): boolean {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return false;
    this.waiters.delete(id);
    waiter.reject(error);
    return true;
  }

  rejectAll(error: Error): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
