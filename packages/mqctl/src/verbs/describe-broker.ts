import { withRetry } from '@crdr/proto';
import { toBrokerDescription } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag } from './common-flags.js';

export const describeBroker = defineVerb({
  name: 'describe-broker',
  summary: 'Show a broker: state, instances and endpoints, users, data replication.',
  flags: { 'broker-id': brokerIdFlag },
  examples: ['mqctl describe-broker --broker-id ID'],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const broker = await withRetry(() =>
      controlPlane.describeBroker({ brokerId: flags['broker-id'] }),
    );
    return toBrokerDescription(broker);
  },
});
