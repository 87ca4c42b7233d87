import { startActiveMq, type ActiveMqHandle } from '@crdr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../broker.test-helper.js';
import {
  normalise,
  rubyStomp,
  stompPy,
  type Scenario,
  type Target,
} from './differential.test-helper.js';
import { stompitScenarios } from './stompit-scenarios.js';
import { stompjsScenarios } from './stompjs-scenarios.js';

// Issue 13: the same client scenarios, driven by real client libraries, against a real Apache
// ActiveMQ 5.17 (Debian's, installed by scripts/ensure-activemq.sh) and against our broker; what
// each client observed must be the same once ids and timestamps are reduced to their presence
// (differential.test-helper.ts). Each scenario uses destinations of its own and runs against
// fresh brokers, so the two runs start from the same state. To add a scenario, add a row.

const scenarios: readonly Scenario[] = [
  stompPy('queue-basic'),
  stompPy('topic-basic'),
  stompPy('ack-client'),
  stompPy('ack-client-individual'),
  stompPy('transactions'),
  stompPy('receipts'),
  stompPy('slash-names'),
  stompPy('wildcard-queues'),
  stompPy('selectors'),
  stompPy('selector-queue'),
  stompPy('invalid-selector'),
  stompPy('nack-dlq'),
  stompPy('bad-login'),
  stompPy('temp-reply'),
  stompPy('durable'),
  rubyStomp('queue-basic'),
  rubyStomp('ack-client'),
  rubyStomp('transactions'),
  rubyStomp('composite'),
  rubyStomp('exclusive'),
  ...stompjsScenarios,
  ...stompitScenarios,
];

describe('the same clients against ActiveMQ 5.17 and against our broker', () => {
  let activemq: ActiveMqHandle;
  let broker: TestBroker;
  let targets: { activemq: Target; ours: Target };

  beforeAll(async () => {
    [activemq, broker] = await Promise.all([
      startActiveMq({ users: [{ name: 'admin', password: 'admin' }] }),
      startTestBroker('stomp_differential'),
    ]);
    targets = {
      activemq: { name: 'activemq', host: activemq.host, stompPort: activemq.stompPort },
      ours: { name: 'ours', host: broker.host, stompPort: broker.stompPort },
    };
  });
  afterAll(async () => {
    await Promise.allSettled([activemq?.close(), broker?.close()]);
  });

  for (const scenario of scenarios) {
    it(`${scenario.client}: ${scenario.name}`, async () => {
      const expected = normalise(await scenario.run(targets.activemq));
      const observed = normalise(await scenario.run(targets.ours));
      expect(observed).toEqual(expected);
    });
  }
});
