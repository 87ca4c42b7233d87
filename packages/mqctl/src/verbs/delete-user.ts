import { defineVerb } from '../verb.js';
import { brokerIdFlag, usernameFlag } from './common-flags.js';

export const deleteUser = defineVerb({
  name: 'delete-user',
  summary: 'Delete a broker user.',
  flags: { 'broker-id': brokerIdFlag, username: usernameFlag },
  examples: ['mqctl delete-user --broker-id ID --username app'],
  async run(flags, context) {
    await context
      .controlPlane()
      .deleteUser({ brokerId: flags['broker-id'], username: flags.username });
    return {};
  },
});
