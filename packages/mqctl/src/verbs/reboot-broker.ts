import { defineVerb } from '../verb.js';
import { brokerIdFlag } from './common-flags.js';

export const rebootBroker = defineVerb({
  name: 'reboot-broker',
  summary: 'Reboot a broker, applying its pending changes (e.g. the data replication mode).',
  flags: { 'broker-id': brokerIdFlag },
  examples: ['mqctl reboot-broker --broker-id ID'],
  async run(flags, context) {
    // Not retried: a second reboot is a second action.
    await context.controlPlane().rebootBroker({ brokerId: flags['broker-id'] });
    return {};
  },
});
