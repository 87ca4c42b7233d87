import type { controlPlaneV1 } from '@crdr/proto';
import { withRetry } from '@crdr/proto';
import { toListBrokersResult } from '../aws-shape.js';
import { omitFromItems } from '../output/reshape.js';
import { defineVerb } from '../verb.js';
import { maxResultsFlag, nextTokenFlag } from './common-flags.js';

export const listBrokers = defineVerb({
  name: 'list-brokers',
  summary: "List the Region's brokers.",
  details:
    'Without --max-results or --next-token every page is fetched, as aws does; with either, one page is printed with its NextToken.',
  flags: { 'max-results': maxResultsFlag, 'next-token': nextTokenFlag },
  examples: ['mqctl list-brokers', 'mqctl list-brokers --max-results 10'],
  // On a terminal the ARN (long, and derived from name and id) would push the table off screen.
  tableView: (document) => omitFromItems(document, 'BrokerSummaries', ['BrokerArn']),
  async run(flags, context) {
    const controlPlane = context.controlPlane();
    const page = (nextToken: string) =>
      withRetry(() =>
        controlPlane.listBrokers({ maxResults: flags['max-results'] ?? 0, nextToken }),
      );
    const onePage = flags['max-results'] !== undefined || flags['next-token'] !== undefined;
    if (onePage) {
      const response = await page(flags['next-token'] ?? '');
      return toListBrokersResult(response.brokerSummaries, response.nextToken);
    }
    const summaries: controlPlaneV1.BrokerSummary__Output[] = [];
    const seen = new Set<string>();
    let nextToken = '';
    do {
      const response = await page(nextToken);
      summaries.push(...response.brokerSummaries);
      nextToken = response.nextToken;
      // A server handing back a token it gave before would loop forever.
      if (seen.has(nextToken)) break;
      seen.add(nextToken);
    } while (nextToken !== '');
    return toListBrokersResult(summaries, '');
  },
});
