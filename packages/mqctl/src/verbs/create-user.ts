import { defineVerb } from '../verb.js';
import { brokerIdFlag, usernameFlag } from './common-flags.js';
import { consoleAccessFlag, groupsFlag, replicationUserFlag } from './user-flags.js';

export const createUser = defineVerb({
  name: 'create-user',
  summary: 'Create a broker user.',
  flags: {
    'broker-id': brokerIdFlag,
    username: usernameFlag,
    password: {
      type: 'string',
      required: true,
      valueName: 'PASSWORD',
      description: 'The password.',
    },
    'console-access': consoleAccessFlag,
    groups: groupsFlag,
    'replication-user': replicationUserFlag,
  },
  examples: [
    'mqctl create-user --broker-id ID --username app --password app-secret-12 --groups producers',
  ],
  async run(flags, context) {
    // Not retried: a repeated create of the same user is refused as a conflict.
    await context.controlPlane().createUser({
      brokerId: flags['broker-id'],
      username: flags.username,
      password: flags.password,
      consoleAccess: flags['console-access'] ?? false,
      groups: [...(flags.groups ?? [])],
      replicationUser: flags['replication-user'] ?? false,
    });
    return {};
  },
});
