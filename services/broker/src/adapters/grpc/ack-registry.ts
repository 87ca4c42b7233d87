import type { AckMode, Session } from '../../engine/engine.types.js';

/** One Receive stream's view, as the registry keeps it. */
export interface ReceiveStream {
  readonly session: Session;
  readonly ackMode: AckMode;
}

interface Entry {
  readonly stream: ReceiveStream;
}

/**
 * Which Receive stream (and so which engine session) handed out each ack id that still awaits
 * an Ack or Nack, so the unary Ack/Nack calls find the session and check that the caller is the
 * user who received it. Ack ids are unique broker-wide (the engine's), so one map serves all
 * streams. Entries go when they are acknowledged or rejected, and all of a stream's go when it
 * closes (the engine returns its unacknowledged deliveries to the queue then).
 */
export class AckRegistry {
  readonly #entries = new Map<string, Entry>();
  /** Per stream, its ack ids in delivery order (a cumulative ack resolves a prefix). */
  readonly #byStream = new Map<ReceiveStream, Set<string>>();

  get size(): number {
    return this.#entries.size;
  }

  /** Records a delivery; `auto` deliveries need no ack and are not kept. */
  add(stream: ReceiveStream, ackId: string): void {
    if (stream.ackMode === 'auto') return;
    let ids = this.#byStream.get(stream);
    if (!ids) {
      ids = new Set();
      this.#byStream.set(stream, ids);
    }
    ids.add(ackId);
    this.#entries.set(ackId, { stream });
  }

  find(ackId: string): ReceiveStream | undefined {
    return this.#entries.get(ackId)?.stream;
  }

  /**
   * Forgets what an Ack or Nack of `ackId` resolved: in `client` mode (cumulative) every earlier
   * delivery of the same stream too, as the engine does; otherwise only that one.
   */
  resolved(ackId: string): void {
    const entry = this.#entries.get(ackId);
    if (!entry) return;
    const ids = this.#byStream.get(entry.stream);
    if (entry.stream.ackMode !== 'client' || !ids) {
      this.#entries.delete(ackId);
      ids?.delete(ackId);
      return;
    }
    for (const id of ids) {
      ids.delete(id);
      this.#entries.delete(id);
      if (id === ackId) break;
    }
  }

  /** Forgets every ack id of a stream that ended. */
  removeStream(stream: ReceiveStream): void {
    for (const id of this.#byStream.get(stream) ?? []) this.#entries.delete(id);
    this.#byStream.delete(stream);
  }
}
