import { deadlineExceeded, failedPrecondition } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import type { VerbContext } from '../verb.js';
import { pollBroker } from './broker-poll.js';

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
  const waited = `${(options.timeoutMs / 1000).toFixed(0)}s`;
  context.progress(`waiting up to ${waited} for the ${what} of ${brokerId}`);
  return pollBroker({
    describe: options.describe,
    context,
    timeoutMs: options.timeoutMs,
    pollIntervalMs: options.pollIntervalMs ?? brokerPollIntervalMs,
    stateOf: state,
    outcome: (broker, now) => {
      if (failedStates.includes(broker.brokerState)) {
        const reason = broker.brokerStateReason ? ` (${broker.brokerStateReason})` : '';
        throw failedPrecondition(`the ${what} of ${brokerId} failed: ${now}${reason}`);
      }
      const applied = options.untilApplied === false || !broker.pendingDataReplicationMode;
      return settledStates.includes(broker.brokerState) && applied ? broker : undefined;
    },
    timedOut: (last) =>
      deadlineExceeded(
        `the ${what} of ${brokerId} is still not done after ${waited} (${last || 'no answer'}); it goes on in the control plane: mqctl describe-broker --broker-id ${brokerId}`,
      ),
  });
}
