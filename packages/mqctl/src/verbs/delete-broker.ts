import { toBrokerIdResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag } from './common-flags.js';

export const deleteBroker = defineVerb({
  name: 'delete-broker',
  summary: 'Delete a broker (refused while it is paired: unpair it first).',
  flags: { 'broker-id': brokerIdFlag },
  examples: ['mqctl delete-broker --broker-id ID'],
  async run(flags, context) {
    const response = await context.controlPlane().deleteBroker({ brokerId: flags['broker-id'] });
    return toBrokerIdResult(response);
  },
});
