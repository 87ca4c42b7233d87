import type { CrdrError } from '@crdr/errors';
import { deadlineExceeded, failedPrecondition, isCrdrError } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { isRetryable } from '@crdr/proto';
import type { VerbContext } from '../verb.js';
import { formatProgressLine } from './promotion-wait.js';

type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

/** The states a broker settles in: RUNNING, and REPLICA for a running replica. */
export const settledStates: readonly string[] = ['RUNNING', 'REPLICA'];
/** States a --wait gives up on. */
export const failedStates: readonly string[] = ['CREATION_FAILED', 'CRITICAL_ACTION_REQUIRED'];

export const brokerPollIntervalMs = 500;
export const defaultWaitTimeoutSeconds = 600;

export const waitFlag = {
  type: 'boolean',
  description:
    'Wait until the broker is RUNNING (REPLICA for a replica), showing each change of state.',
} as const;

export const waitTimeoutFlag = {
  type: 'integer',
  min: 1,
  valueName: 'S',
  description: `With --wait: give up waiting after S seconds (default ${defaultWaitTimeoutSeconds}).`,
} as const;

export interface BrokerWaitOptions {
  readonly brokerId: string;
  /** What is waited for, for the messages: "creation", "reboot". */
  readonly what: string;
  readonly timeoutMs: number;
  readonly describe: () => Promise<Broker>;
  readonly context: Pick<VerbContext, 'progress' | 'now' | 'sleep'>;
  readonly pollIntervalMs?: number;
  /** Also wait until no change is pending (a reboot applies them); default true. */
  readonly untilApplied?: boolean;
}

function state(broker: Broker): string {
  const status = broker.dataReplicationMetadata?.replicationStatus;
  const pending = broker.pendingDataReplicationMode;
  return [
    `BrokerState ${broker.brokerState || '-'}`,
    ...(status ? [`ReplicationStatus ${status}`] : []),
    ...(pending ? [`PendingDataReplicationMode ${pending}`] : []),
  ].join(', ');
}

/**
 * Polls describe-broker until the broker is settled (RUNNING or REPLICA) with no change pending,
 * printing each change of state with the elapsed time. A control plane that does not answer for
 * a while (restarting) is waited for; a failed state or the timeout ends the wait with an error
 * (exit 255, as an aws waiter that fails).
 */
export async function waitForBroker(options: BrokerWaitOptions): Promise<Broker> {
  const { context, brokerId, what } = options;
  const startedAt = context.now();
  const deadline = startedAt + options.timeoutMs;
  const seconds = `${(options.timeoutMs / 1000).toFixed(0)}s`;
  context.progress(`waiting up to ${seconds} for the ${what} of ${brokerId}`);
  let last = '';
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
      const now = state(broker);
      if (now !== last) {
        context.progress(formatProgressLine(context.now() - startedAt, now));
        last = now;
      }
      if (failedStates.includes(broker.brokerState)) {
        const reason = broker.brokerStateReason ? ` (${broker.brokerStateReason})` : '';
        throw failedPrecondition(`the ${what} of ${brokerId} failed: ${now}${reason}`);
      }
      const applied = options.untilApplied === false || !broker.pendingDataReplicationMode;
      if (settledStates.includes(broker.brokerState) && applied) {
        return broker;
      }
    }
    if (context.now() >= deadline) {
      throw deadlineExceeded(
        `the ${what} of ${brokerId} is still not done after ${seconds} (${last || 'no answer'}); it goes on in the control plane: mqctl describe-broker --broker-id ${brokerId}`,
      );
    }
    await context.sleep(options.pollIntervalMs ?? brokerPollIntervalMs);
  }
}
