export interface BackoffBounds {
  /** The first delay's ceiling. */
  readonly minMs: number;
  /** No delay is longer. */
  readonly maxMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): exponential, capped at `maxMs`,
 * with jitter over its upper half so that replicators cut off together do not come back in step.
 * `random` is in [0, 1).
 */
export function backoffDelayMs(attempt: number, bounds: BackoffBounds, random: number): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(bounds.maxMs, bounds.minMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
