import { deadlineExceeded, failedPrecondition } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import type { VerbContext } from '../verb.js';
import { pollBroker, seconds } from './broker-poll.js';

type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

export const promotionInProgress = 'PROMOTION_IN_PROGRESS';
/** How often `promote --wait` asks for the broker. */
export const promotionPollIntervalMs = 250;

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
  context.progress(
    `${options.mode} of ${brokerId} requested; waiting up to ${seconds(options.timeoutMs)}`,
  );
  return pollBroker({
    describe: options.describe,
    context,
    timeoutMs: options.timeoutMs,
    pollIntervalMs: options.pollIntervalMs ?? promotionPollIntervalMs,
    stateOf: progressState,
    outcome: (broker, state) => {
      if (broker.dataReplicationMetadata?.replicationStatus === promotionInProgress) {
        return undefined;
      }
      if (broker.dataReplicationMetadata?.dataReplicationRole === 'PRIMARY') return broker;
      const reason = broker.brokerStateReason ? ` (${broker.brokerStateReason})` : '';
      throw failedPrecondition(
        `promotion of ${brokerId} ended without making it primary: ${state}${reason}`,
      );
    },
    timedOut: (lastState) =>
      deadlineExceeded(
        `promotion of ${brokerId} still running after ${seconds(options.timeoutMs)} (${lastState || 'no answer'}); it goes on in the control plane: mqctl describe-broker --broker-id ${brokerId}`,
      ),
  });
}
