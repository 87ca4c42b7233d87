import { withRetry } from '@crdr/proto';
import { toBrokerDescription, toBrokerIdResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, promotionModes } from './common-flags.js';
import { waitForPromotion } from './promotion-wait.js';

export const promote = defineVerb({
  name: 'promote',
  summary: 'Promote a replica to primary by SWITCHOVER or FAILOVER (run in the replica Region).',
  details:
    'Returns once the promotion is recorded; it then runs in the control plane. With --wait, shows its steps until ReplicationStatus leaves PROMOTION_IN_PROGRESS and prints the promoted broker (describe-broker).',
  flags: {
    'broker-id': { ...brokerIdFlag, description: 'The replica to promote.' },
    mode: {
      type: 'string',
      required: true,
      choices: promotionModes,
      description: 'SWITCHOVER (no data loss, needs the primary) or FAILOVER (at once).',
    },
    wait: {
      type: 'boolean',
      description: 'Wait for the promotion to finish, showing its progress.',
    },
    'wait-timeout-seconds': {
      type: 'integer',
      min: 1,
      valueName: 'S',
      description: 'With --wait: give up waiting after S seconds (default 300).',
    },
  },
  examples: [
    'mqctl --region region-b promote --broker-id ID --mode SWITCHOVER --wait',
    'mqctl --region region-b promote --broker-id ID --mode FAILOVER',
  ],
  async run(flags, context) {
    const brokerId = flags['broker-id'];
    const controlPlane = context.controlPlane();
    // Not retried: a second Promote after a lost answer would be refused as a conflict.
    const response = await controlPlane.promote({ brokerId, mode: flags.mode });
    if (flags.wait !== true) return toBrokerIdResult(response);
    const broker = await waitForPromotion({
      brokerId,
      mode: flags.mode,
      timeoutMs: (flags['wait-timeout-seconds'] ?? 300) * 1000,
      describe: () => withRetry(() => controlPlane.describeBroker({ brokerId })),
      context,
    });
    return toBrokerDescription(broker);
  },
});
