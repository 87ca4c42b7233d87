import type { Principal, Session } from '../../engine/engine.types.js';

/** A Session that records what the adapter asks of it, for the registries' unit tests. */
export class RecordingSession implements Session {
  static #counter = 0;
  readonly id = `fake-${++RecordingSession.#counter}`;
  readonly principal: Principal;
  readonly calls: string[] = [];
  closed = false;
  failAbort = false;

  constructor(username = 'alice') {
    this.principal = { username, groups: [], consoleAccess: false };
  }

  async send(): Promise<{ messageId: string }> {
    this.calls.push('send');
    return { messageId: 'm' };
  }
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
  async ack(ackId: string, transactionId?: string): Promise<void> {
    this.calls.push(`ack ${ackId} ${transactionId ?? ''}`.trim());
  }
  async nack(ackId: string): Promise<void> {
    this.calls.push(`nack ${ackId}`);
  }
  begin(transactionId: string): void {
    this.calls.push(`begin ${transactionId}`);
  }
  async commit(transactionId: string): Promise<void> {
    this.calls.push(`commit ${transactionId}`);
  }
  async abort(transactionId: string): Promise<void> {
    this.calls.push(`abort ${transactionId}`);
    if (this.failAbort) throw new Error('abort failed');
  }
  resume(): void {}
  async close(): Promise<void> {
    this.closed = true;
  }
}
