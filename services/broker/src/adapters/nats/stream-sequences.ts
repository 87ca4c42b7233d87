interface Mark {
  readonly streamSeq: bigint;
  readonly eventSeq: bigint;
  readonly flat: boolean;
}

/**
 * Which event of the log a message of its stream completes. Stream and event sequences move
 * together except over the parts of an event too large for one message (the event completes
 * at its last part; its earlier parts complete the one before) and over the parts of an
 * attempt abandoned halfway. The relay records where the two part ways, from what it
 * publishes and from where it finds the stream when it starts over; before its first record,
 * the offset it found then is assumed.
 */
export class StreamSequences {
  /** Points where the mapping changes, by stream sequence; `flat`: it stays at `eventSeq`. */
  #marks: Mark[] = [];

  /** The stream's last message `streamSeq` completes event `eventSeq`; what follows moves on. */
  found(streamSeq: bigint, eventSeq: bigint): void {
    this.#mark(streamSeq, eventSeq, false);
  }

  /** Event `eventSeq` was published in parts at stream sequences `first` to `last`. */
  published(eventSeq: bigint, first: bigint, last: bigint): void {
    this.#mark(first, eventSeq - 1n, true);
    this.#mark(last, eventSeq, false);
  }

  /** The last event complete at stream sequence `streamSeq`. */
  eventSeqAt(streamSeq: bigint): bigint {
    let at: Mark | undefined;
    for (let i = this.#marks.length - 1; i >= 0; i--) {
      if (this.#marks[i]!.streamSeq <= streamSeq) {
        at = this.#marks[i];
        break;
      }
    }
    if (at === undefined) {
      const first = this.#marks[0];
      if (first === undefined) return streamSeq;
      const seq = streamSeq - (first.streamSeq - first.eventSeq);
      return seq < 0n ? 0n : seq;
    }
    return at.flat ? at.eventSeq : at.eventSeq + (streamSeq - at.streamSeq);
  }

  /** Forgets the marks no stream sequence from `streamSeq` on needs. */
  forgetBefore(streamSeq: bigint): void {
    let keep = 0;
    while (keep + 1 < this.#marks.length && this.#marks[keep + 1]!.streamSeq <= streamSeq) keep++;
    if (keep > 0) this.#marks = this.#marks.slice(keep);
  }

  #mark(streamSeq: bigint, eventSeq: bigint, flat: boolean): void {
    // A stream that moved back (replaced by a new generation's) starts the record over.
    while (this.#marks.length > 0 && this.#marks[this.#marks.length - 1]!.streamSeq >= streamSeq)
      this.#marks.pop();
    this.#marks.push({ streamSeq, eventSeq, flat });
  }
}
