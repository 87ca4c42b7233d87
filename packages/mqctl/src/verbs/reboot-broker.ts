import { withRetry } from '@crdr/proto';
import { toBrokerDescription } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { defaultWaitTimeoutSeconds, waitForBroker, waitTimeoutFlag } from './broker-wait.js';
import { brokerIdFlag } from './common-flags.js';

export const rebootBroker = defineVerb({
  name: 'reboot-broker',
  summary: 'Reboot a broker, applying its pending changes (e.g. the data replication mode).',
  flags: {
    'broker-id': brokerIdFlag,
    wait: {
      type: 'boolean',
      description:
        'Wait until the reboot is applied: the broker RUNNING (or REPLICA) with no change pending; prints the broker.',
    },
    'wait-timeout-seconds': waitTimeoutFlag,
  },
  examples: [
    'mqctl reboot-broker --broker-id ID',
    'mqctl reboot-broker --broker-id ID --wait --query BrokerState --output text',
  ],
  async run(flags, context) {
    const brokerId = flags['broker-id'];
    const controlPlane = context.controlPlane();
    // Not retried: a second reboot is a second action.
    await controlPlane.rebootBroker({ brokerId });
    if (flags.wait !== true) return {};
    const broker = await waitForBroker({
      brokerId,
      what: 'reboot',
      timeoutMs: (flags['wait-timeout-seconds'] ?? defaultWaitTimeoutSeconds) * 1000,
      describe: () => withRetry(() => controlPlane.describeBroker({ brokerId })),
      context,
    });
    return toBrokerDescription(broker);
  },
});
