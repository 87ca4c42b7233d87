import type { CrdrError } from '@crdr/errors';
import { deadlineExceeded, failedPrecondition, isCrdrError } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { isRetryable } from '@crdr/proto';
import type { VerbContext } from '../verb.js';

type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

export const promotionInProgress = 'PROMOTION_IN_PROGRESS';
/** How often `promote --wait` asks for the broker. */
export const promotionPollIntervalMs = 250;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** What a progress line shows; a new line is printed when it changes. */
export function progressState(broker: Broker): string {
  const metadata = broker.dataReplicationMetadata;
  const parts = [
    `BrokerState ${broker.brokerState || '-'}`,
    `ReplicationStatus ${metadata?.replicationStatus || '-'}`,
  ];
  if (metadata?.promotion) {
    parts.push(`${metadata.promotion.mode || 'promotion'} step ${metadata.promotion.step || '-'}`);
  }
  return parts.join(', ');
}

/** `[   2.3s] BrokerState REPLICA, ReplicationStatus PROMOTION_IN_PROGRESS, SWITCHOVER step ...` */
export function formatProgressLine(elapsedMs: number, state: string): string {
  return `[${seconds(elapsedMs).padStart(7)}] ${state}`;
}

export interface PromotionWaitOptions {
  readonly brokerId: string;
  readonly mode: string;
  readonly timeoutMs: number;
  readonly describe: () => Promise<Broker>;
  readonly context: Pick<VerbContext, 'progress' | 'now' | 'sleep'>;
  readonly pollIntervalMs?: number;
}

/**
 * Polls the promoted broker until its ReplicationStatus is no longer PROMOTION_IN_PROGRESS,
 * printing each change of state, step or status with the elapsed time. A control plane that
 * restarts mid-saga (the saga resumes) is waited for; other errors end the wait. Resolves with
 * the broker once it is PRIMARY; rejects if the promotion ended otherwise or the time is up.
 */
export async function waitForPromotion(options: PromotionWaitOptions): Promise<Broker> {
  const { context, brokerId } = options;
  const startedAt = context.now();
  const deadline = startedAt + options.timeoutMs;
  context.progress(
    `${options.mode} of ${brokerId} requested; waiting up to ${seconds(options.timeoutMs)}`,
  );
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
      const state = progressState(broker);
      if (state !== lastState) {
        context.progress(formatProgressLine(context.now() - startedAt, state));
        lastState = state;
      }
      if (broker.dataReplicationMetadata?.replicationStatus !== promotionInProgress) {
        const role = broker.dataReplicationMetadata?.dataReplicationRole;
        if (role === 'PRIMARY') return broker;
        const reason = broker.brokerStateReason ? ` (${broker.brokerStateReason})` : '';
        throw failedPrecondition(
          `promotion of ${brokerId} ended without making it primary: ${state}${reason}`,
        );
      }
    }
    if (context.now() >= deadline) {
      throw deadlineExceeded(
        `promotion of ${brokerId} still running after ${seconds(options.timeoutMs)} (${lastState || 'no answer'}); it goes on in the control plane: mqctl describe-broker --broker-id ${brokerId}`,
      );
    }
    await context.sleep(options.pollIntervalMs ?? promotionPollIntervalMs);
  }
}
