import { withRetry } from '@crdr/proto';
import { toUserDescription } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, usernameFlag } from './common-flags.js';

export const describeUser = defineVerb({
  name: 'describe-user',
  summary: 'Show a broker user.',
  flags: { 'broker-id': brokerIdFlag, username: usernameFlag },
  examples: ['mqctl describe-user --broker-id ID --username app'],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const response = await withRetry(() =>
      controlPlane.describeUser({ brokerId: flags['broker-id'], username: flags.username }),
    );
    return toUserDescription(response);
  },
});
