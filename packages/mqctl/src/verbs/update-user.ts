import { withRetry } from '@crdr/proto';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, usernameFlag } from './common-flags.js';
import { consoleAccessFlag, groupsFlag, replicationUserFlag } from './user-flags.js';

export const updateUser = defineVerb({
  name: 'update-user',
  summary: 'Change a broker user: password, console access, groups, replication user.',
  details: 'What is not given is left unchanged; --groups replaces all the groups.',
  flags: {
    'broker-id': brokerIdFlag,
    username: usernameFlag,
    password: { type: 'string', valueName: 'PASSWORD', description: 'The new password.' },
    'console-access': consoleAccessFlag,
    groups: groupsFlag,
    'replication-user': replicationUserFlag,
  },
  examples: ['mqctl update-user --broker-id ID --username app --no-console-access'],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const consoleAccess = flags['console-access'];
    const replicationUser = flags['replication-user'];
    // Setting values is idempotent: a retry sets the same values.
    await withRetry(() =>
      controlPlane.updateUser({
        brokerId: flags['broker-id'],
        username: flags.username,
        password: flags.password ?? '',
        groups: [...(flags.groups ?? [])],
        ...(consoleAccess === undefined ? {} : { consoleAccess }),
        ...(replicationUser === undefined ? {} : { replicationUser }),
      }),
    );
    return {};
  },
});
