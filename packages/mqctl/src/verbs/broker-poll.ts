import type { CrdrError } from '@crdr/errors';
import { isCrdrError } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { isRetryable } from '@crdr/proto';
import type { VerbContext } from '../verb.js';

type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** `[   2.3s] BrokerState REPLICA, ReplicationStatus PROMOTION_IN_PROGRESS, SWITCHOVER step ...` */
export function formatProgressLine(elapsedMs: number, state: string): string {
  return `[${seconds(elapsedMs).padStart(7)}] ${state}`;
}

export interface BrokerPollOptions {
  readonly describe: () => Promise<Broker>;
  readonly context: Pick<VerbContext, 'progress' | 'now' | 'sleep'>;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  /** What a progress line shows of the broker; a new line is printed when it changes. */
  readonly stateOf: (broker: Broker) => string;
  /** The broker once the wait is over, undefined to wait on; throws when it failed. */
  readonly outcome: (broker: Broker, state: string) => Broker | undefined;
  /** The error when the time is up, given the last state shown ('' when none). */
  readonly timedOut: (lastState: string) => CrdrError;
}

/**
 * The `--wait` loop of mqctl's verbs: polls describe-broker, printing each change of state with
 * the elapsed time, until `outcome` says the wait is over or the time is up. A control plane
 * that does not answer for a while (restarting, resuming a saga) is waited for, said once; any
 * other error ends the wait.
 */
export async function pollBroker(options: BrokerPollOptions): Promise<Broker> {
  const { context } = options;
  const startedAt = context.now();
  const deadline = startedAt + options.timeoutMs;
  let lastState = '';
  let lastError: CrdrError | undefined;
  for (;;) {
    let broker: Broker | undefined;
    try {
      broker = await options.describe();
      lastError = undefined;
    } catch (error) {
      if (!isCrdrError(error) || !isRetryable(error)) throw error;
      if (lastError === undefined) {
        context.progress(
          formatProgressLine(
            context.now() - startedAt,
            `control plane unavailable (${error.message}); still waiting`,
          ),
        );
      }
      lastError = error;
    }
    if (broker !== undefined) {
      const state = options.stateOf(broker);
      if (state !== lastState) {
        context.progress(formatProgressLine(context.now() - startedAt, state));
        lastState = state;
      }
      const done = options.outcome(broker, state);
      if (done !== undefined) return done;
    }
    if (context.now() >= deadline) throw options.timedOut(lastState);
    await context.sleep(options.pollIntervalMs);
  }
}
