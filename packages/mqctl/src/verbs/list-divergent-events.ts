import { withRetry } from '@crdr/proto';
import { toListDivergentEventsResult } from '../aws-shape.js';
import { defineVerb } from '../verb.js';
import { brokerIdFlag, maxResultsFlag, nextTokenFlag } from './common-flags.js';

export const listDivergentEvents = defineVerb({
  name: 'list-divergent-events',
  summary: 'After a failover: list the events the old primary committed past the failover point.',
  flags: {
    'broker-id': { ...brokerIdFlag, description: 'The broker that was primary at the failover.' },
    'max-results': maxResultsFlag,
    'next-token': nextTokenFlag,
  },
  examples: ['mqctl list-divergent-events --broker-id ID'],
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const response = await withRetry(() =>
      controlPlane.listDivergentEvents({
        brokerId: flags['broker-id'],
        maxResults: flags['max-results'] ?? 0,
        nextToken: flags['next-token'] ?? '',
      }),
    );
    return toListDivergentEventsResult(response);
  },
});
