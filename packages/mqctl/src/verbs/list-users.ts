import { withRetry } from '@crdr/proto';
import { toListUsersResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, maxResultsFlag, nextTokenFlag } from './common-flags.js';

export const listUsers = defineVerb({
  name: 'list-users',
  summary: "List a broker's users (with their pending changes).",
  flags: { 'broker-id': brokerIdFlag, 'max-results': maxResultsFlag, 'next-token': nextTokenFlag },
  examples: ['mqctl list-users --broker-id ID'],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const response = await withRetry(() =>
      controlPlane.listUsers({
        brokerId: flags['broker-id'],
        maxResults: flags['max-results'] ?? 0,
        nextToken: flags['next-token'] ?? '',
      }),
    );
    return toListUsersResult(response);
  },
});
