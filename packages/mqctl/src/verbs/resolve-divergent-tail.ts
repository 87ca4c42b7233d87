import { toResolveDivergentTailResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, divergentTailActions } from './common-flags.js';

export const resolveDivergentTail = defineVerb({
  name: 'resolve-divergent-tail',
  summary: 'Republish the divergent tail to the current primary, or discard it.',
  flags: {
    'broker-id': { ...brokerIdFlag, description: 'The broker that was primary at the failover.' },
    action: {
      type: 'string',
      required: true,
      choices: divergentTailActions,
      description:
        "REPUBLISH sends the tail's messages to the current primary; DISCARD drops them.",
    },
  },
  examples: ['mqctl resolve-divergent-tail --broker-id ID --action REPUBLISH'],
  async run(flags, context) {
    // Not retried: republishing twice would send the messages twice.
    const response = await context
      .controlPlane()
      .resolveDivergentTail({ brokerId: flags['broker-id'], action: flags.action });
    return toResolveDivergentTailResult(response);
  },
});
