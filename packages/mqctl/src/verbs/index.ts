import type { Verb } from '../verb.js';
import { createBroker } from './create-broker.js';
import { createUser } from './create-user.js';
import { deleteBroker } from './delete-broker.js';
import { deleteUser } from './delete-user.js';
import { describeBroker } from './describe-broker.js';
import { describeUser } from './describe-user.js';
import { getMetricData } from './get-metric-data.js';
import { getMetricStatisticsVerb } from './get-metric-statistics.js';
import { listBrokers } from './list-brokers.js';
import { listMetrics } from './list-metrics.js';
import { listDivergentEvents } from './list-divergent-events.js';
import { listUsers } from './list-users.js';
import { promote } from './promote.js';
import { rebootBroker } from './reboot-broker.js';
import { resolveDivergentTail } from './resolve-divergent-tail.js';
import { updateBroker } from './update-broker.js';
import { updateUser } from './update-user.js';

/**
 * The verb registry: one file per verb under src/verbs/, each exporting `defineVerb({...})`.
 * To add a verb, write src/verbs/NAME.ts and add it here; help lists verbs in this order.
 */
export const verbs: readonly Verb[] = [
  createBroker,
  describeBroker,
  listBrokers,
  updateBroker,
  rebootBroker,
  deleteBroker,
  promote,
  createUser,
  updateUser,
  deleteUser,
  listUsers,
  describeUser,
  listDivergentEvents,
  resolveDivergentTail,
  getMetricStatisticsVerb,
  getMetricData,
  listMetrics,
];
