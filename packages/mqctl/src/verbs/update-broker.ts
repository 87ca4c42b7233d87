import { withRetry } from '@crdr/proto';
import { toUpdateBrokerResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { defaultWaitTimeoutSeconds, waitForBroker, waitTimeoutFlag } from './broker-wait.js';
import { brokerIdFlag, dataReplicationModes } from './common-flags.js';

export const updateBroker = defineVerb({
  name: 'update-broker',
  summary: 'Set the pending data replication mode (applied by reboot-broker).',
  details:
    'NONE unpairs a primary and its replica; CRDR pairs them again. The change is pending until reboot-broker. ' +
    'Extension: --force with NONE unpairs at once without the peer Region (lost for good); the ' +
    "peer's broker, if it comes back, stays fenced and shows FORCE_UNPAIRED.",
  flags: {
    'broker-id': brokerIdFlag,
    'data-replication-mode': {
      type: 'string',
      choices: dataReplicationModes,
      description: 'The data replication mode to apply at the next reboot.',
    },
    force: {
      type: 'boolean',
      description:
        'With --data-replication-mode NONE: unpair now, without the peer Region (an extension of aws mq).',
    },
    wait: {
      type: 'boolean',
      description:
        'Wait until the broker is settled (RUNNING or REPLICA, no operation in progress) before printing the result.',
    },
    'wait-timeout-seconds': waitTimeoutFlag,
  },
  examples: [
    'mqctl update-broker --broker-id ID --data-replication-mode NONE --wait',
    'mqctl update-broker --broker-id ID --data-replication-mode NONE --force',
  ],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    // Setting a value is idempotent: a retry sets the same value.
    const response = await withRetry(() =>
      controlPlane.updateBroker({
        brokerId: flags['broker-id'],
        dataReplicationMode: flags['data-replication-mode'] ?? '',
        force: flags.force === true,
      }),
    );
    if (flags.wait === true) {
      const brokerId = flags['broker-id'];
      await waitForBroker({
        brokerId,
        what: 'update',
        timeoutMs: (flags['wait-timeout-seconds'] ?? defaultWaitTimeoutSeconds) * 1000,
        describe: () => withRetry(() => controlPlane.describeBroker({ brokerId })),
        context,
        // The new mode stays pending until reboot-broker applies it.
        untilApplied: false,
      });
    }
    return toUpdateBrokerResult(response);
  },
});
