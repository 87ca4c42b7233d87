import type { brokerV1 } from '@crdr/proto';
import { describe, expect, it } from 'vitest';
import { toHtmlString, type SafeHtml } from '../html.js';
import type { BrokerDescription, BrokerSummary } from '../model.js';
import { brokerPage, replicationPanel } from './broker.js';
import { consumersPage, usersPage } from './broker-stats.js';
import { createBrokerPage, createReplicaPage } from './broker-forms.js';
import { brokersPage, brokersTable } from './brokers.js';
import { browsePage, destinationsPage, sendPage } from './destinations.js';
import { badge, formatLagMs } from './format.js';
import { loginPage } from './login.js';
import { sparkline } from './sparkline.js';

/** The markup with each run of white space as one space. */
const flat = (text: string): string => text.replace(/\s+/g, ' ').trim();

const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>'`;
const viewer = { username: evil, csrfToken: 'token-123' };

function broker(overrides: Partial<BrokerDescription> = {}): BrokerDescription {
  return {
    brokerId: `b-${evil}`,
    brokerArn: `arn:mq:region-a:local:broker:${evil}:b-1`,
    brokerName: evil,
    brokerState: evil,
    deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
    engineType: 'ACTIVEMQ',
    engineVersion: evil,
    hostInstanceType: 'mq.m5.large',
    created: '2026-11-25T00:00:00.000Z',
    users: [{ username: evil, pendingChange: evil }],
    brokerInstances: [
      {
        endpoints: [`stomp://${evil}`, 'grpc://127.0.0.1:1'],
        consoleUrl: evil,
        ipAddress: evil,
        instanceState: 'ACTIVE',
      },
    ],
    dataReplicationMode: 'CRDR',
    pendingDataReplicationMode: evil,
    dataReplicationMetadata: {
      dataReplicationRole: 'REPLICA',
      dataReplicationCounterpart: { brokerId: evil, region: evil },
      replicationStatus: 'PROMOTION_IN_PROGRESS',
      replicationStatusReason: '',
      promotion: { mode: 'SWITCHOVER', step: evil, startedAt: evil },
      divergentTail: {
        eventCount: '3',
        firstSequence: '11',
        lastSequence: '13',
        destinations: [evil],
        state: 'PENDING',
        failoverSequence: '10',
      },
    },
    pendingDataReplicationMetadata: null,
    brokerStateReason: evil,
    region: 'region-b',
    ...overrides,
  };
}

const summary: BrokerSummary = {
  brokerId: evil,
  brokerArn: evil,
  brokerName: evil,
  brokerState: evil,
  deploymentMode: evil,
  hostInstanceType: evil,
  created: evil,
  engineType: evil,
};

const destination: brokerV1.DestinationInfo__Output = {
  type: 'QUEUE',
  name: evil,
  queueSize: '10',
  consumerCount: 1,
  producerCount: 0,
  enqueueCount: '10',
  dequeueCount: '0',
  dispatchCount: '0',
  durableSubscriptionCount: 0,
};

const message: brokerV1.Delivery__Output = {
  ackId: '',
  messageId: evil,
  destination: '/queue/TestQueue',
  body: Buffer.from(evil),
  headers: { [evil]: evil },
  priority: 4,
  redelivered: false,
  redeliveryCount: 0,
  timestampMs: '1764028800000',
  expiresAtMs: '0',
  persistent: true,
};

/** No value may open an element or an attribute: the payload must only appear escaped. */
function expectNoInjection(rendered: SafeHtml): string {
  const text = toHtmlString(rendered);
  expect(text).not.toContain('<script>alert');
  expect(text).not.toContain('<img src=x');
  expect(text).not.toContain('"><script');
  expect(text).not.toContain("'><script");
  expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  return text;
}

describe('every value is escaped', () => {
  const steps = [{ mode: evil, step: evil, seenAt: evil }];
  const lag = {
    metric: 'ReplicationLag',
    points: [0, 1500, 200],
    lastLagMs: 200,
    source: 'replicator',
    error: evil,
  };

  it.each<[string, () => SafeHtml]>([
    [
      'brokers page',
      () => brokersPage('region-a', viewer, [{ summary, description: broker(), lag }]),
    ],
    [
      'broker page',
      () =>
        brokerPage({
          region: 'region-b',
          viewer,
          broker: broker(),
          lag,
          steps,
          divergentEvents: [
            {
              sequence: '11',
              eventType: evil,
              destination: evil,
              messageId: evil,
              createdAt: evil,
            },
          ],
          flash: { kind: 'error', message: evil },
        }),
    ],
    [
      'create broker form',
      () =>
        createBrokerPage(
          'region-a',
          viewer,
          { brokerName: evil, engineVersion: evil },
          { kind: 'error', message: evil },
        ),
    ],
    [
      'create replica form',
      () =>
        createReplicaPage('region-b', viewer, { primaryBrokerArn: evil }, [evil], {
          kind: 'error',
          message: evil,
        }),
    ],
    [
      'queues page',
      () =>
        destinationsPage({
          region: 'r',
          viewer,
          broker: broker(),
          kind: 'queue',
          destinations: [destination],
        }),
    ],
    [
      'topics page',
      () =>
        destinationsPage({
          region: 'r',
          viewer,
          broker: broker(),
          kind: 'topic',
          destinations: [{ ...destination, type: 'TOPIC' }],
          loadError: evil,
        }),
    ],
    [
      'send page',
      () =>
        sendPage({
          region: 'r',
          viewer,
          broker: broker(),
          kind: 'queue',
          name: evil,
          values: { body: evil, headers: evil, count: evil },
        }),
    ],
    [
      'browse page',
      () => browsePage({ region: 'r', viewer, broker: broker(), queue: evil, messages: [message] }),
    ],
    [
      'consumers page',
      () =>
        consumersPage({
          region: 'r',
          viewer,
          broker: broker(),
          stats: {
            currentConnectionsCount: 1,
            totalMessageCount: '1',
            totalEnqueueCount: '1',
            totalDequeueCount: '0',
            totalConsumerCount: 1,
            totalProducerCount: 0,
            destinations: [destination],
            serving: true,
          },
        }),
    ],
    [
      'users page',
      () =>
        usersPage({
          region: 'r',
          viewer,
          broker: broker(),
          brokerUsers: [
            { username: evil, groups: [evil], consoleAccess: true, replicationUser: false },
          ],
          brokerUsersError: evil,
          controlPlaneUsers: [{ username: evil, pendingChange: evil }],
        }),
    ],
    [
      'login page',
      () =>
        loginPage(evil, evil, {
          username: evil,
          next: evil,
          flash: { kind: 'error', message: evil },
        }),
    ],
  ])('%s', (_name, render) => {
    expectNoInjection(render());
  });
});

describe('broker page', () => {
  it('offers Promote on a replica, with the Confirm button disabled until confirm is typed', () => {
    const text = toHtmlString(
      brokerPage({ region: 'region-b', viewer, broker: broker(), steps: [] }),
    );
    expect(text).toContain('data-testid="promote-form"');
    expect(flat(text)).toMatch(
      /<button[^>]*data-requires-word="confirm"[^>]*disabled\s*>\s*Confirm\s*<\/button>/,
    );
    expect(text).toContain('value="SWITCHOVER" checked');
    expect(text).toContain('value="FAILOVER"');
    expect(text).toContain('name="_csrf" value="token-123"');
  });

  it('does not offer Promote on a primary', () => {
    const primary = broker({
      dataReplicationMetadata: {
        dataReplicationRole: 'PRIMARY',
        dataReplicationCounterpart: { brokerId: 'b-2', region: 'region-b' },
        replicationStatus: 'REPLICATING',
        replicationStatusReason: '',
        promotion: null,
        divergentTail: null,
      },
    });
    const text = toHtmlString(
      brokerPage({ region: 'region-a', viewer, broker: primary, steps: [] }),
    );
    expect(text).not.toContain('promote-form');
    expect(text).not.toContain('data-testid="divergent-tail"');
  });

  it('lists the promotion steps seen, in order, and the divergent tail actions', () => {
    const text = toHtmlString(
      replicationPanel(broker(), undefined, [
        { mode: 'SWITCHOVER', step: 'DEMOTING_PRIMARY', seenAt: 't1' },
        { mode: 'SWITCHOVER', step: 'WAITING_FOR_REPLICA', seenAt: 't2' },
      ]),
    );
    expect(text.indexOf('DEMOTING_PRIMARY')).toBeLessThan(text.indexOf('WAITING_FOR_REPLICA'));
    const page = toHtmlString(brokerPage({ region: 'r', viewer, broker: broker(), steps: [] }));
    expect(page).toContain('value="REPUBLISH"');
    expect(page).toContain('value="DISCARD"');
  });
});

describe('brokers table', () => {
  it('says when there is no broker', () => {
    expect(toHtmlString(brokersTable([]))).toContain('No brokers in this Region yet');
  });
});

describe('sparkline', () => {
  it('draws an inline SVG polyline scaled to the largest point', () => {
    const svg = flat(
      toHtmlString(sparkline([0, 500, 2000], { label: 'lag', width: 100, height: 20 })),
    );
    expect(svg).toMatch(/^<svg class="sparkline"/);
    expect(svg).toContain('points="0.0,19.0 50.0,14.5 100.0,1.0"');
    expect(svg).toContain('aria-label="lag: 2.0 s now, peak 2.0 s"');
  });

  it('keeps quiet lags flat near the bottom (the scale tops at 1 s at least)', () => {
    const svg = toHtmlString(sparkline([0, 0], { label: 'lag', width: 10, height: 12 }));
    expect(svg).toContain('points="0.0,11.0 10.0,11.0"');
  });

  it('draws a dashed baseline without data', () => {
    expect(toHtmlString(sparkline([], { label: '<x>' }))).toContain('&lt;x&gt;: no data');
  });
});

describe('formatLagMs', () => {
  it.each([
    [undefined, '—'],
    [0, '0 ms'],
    [849.6, '850 ms'],
    [12_345, '12.3 s'],
    [242_000, '4 min 2 s'],
  ])('%s → %s', (ms, text) => {
    expect(formatLagMs(ms)).toBe(text);
  });
});

describe('sparkline with one sample', () => {
  it('draws it as a flat line across', () => {
    expect(toHtmlString(sparkline([0], { label: 'lag', width: 10, height: 12 }))).toContain(
      'points="0.0,11.0 10.0,11.0"',
    );
  });
});

describe('links to the other Regions’ consoles', () => {
  const peers = { 'region-b': 'http://127.0.0.1:9002' };
  it('offer Create replica on an unpaired broker, with its ARN', () => {
    const unpaired = broker({
      dataReplicationMetadata: null,
      brokerArn: 'arn:mq:region-a:local:broker:p:b-1',
    });
    const text = toHtmlString(
      brokerPage({ region: 'region-a', viewer, broker: unpaired, steps: [], peers }),
    );
    expect(text).toContain(
      'href="http://127.0.0.1:9002/brokers/new-replica?primaryBrokerArn=arn%3Amq%3Aregion-a%3Alocal%3Abroker%3Ap%3Ab-1"',
    );
  });

  it('link the counterpart broker on its console', () => {
    const paired = broker({
      dataReplicationMetadata: {
        dataReplicationRole: 'PRIMARY',
        dataReplicationCounterpart: { brokerId: 'b-2', region: 'region-b' },
        replicationStatus: 'REPLICATING',
        replicationStatusReason: '',
        promotion: null,
        divergentTail: null,
      },
    });
    const text = toHtmlString(replicationPanel(paired, undefined, [], peers));
    expect(text).toContain('href="http://127.0.0.1:9002/brokers/b-2"');
    expect(
      toHtmlString(brokerPage({ region: 'r', viewer, broker: paired, steps: [], peers })),
    ).not.toContain('Create replica in');
  });
});

describe('replication status badges', () => {
  it('fills STALLED (red) and PAUSED (amber) so they stand out, with the reason as the title', () => {
    const stalled = toHtmlString(
      badge('STALLED', 'replication-status', 'The replicator does not answer.'),
    );
    expect(stalled).toContain('badge-stalled');
    expect(stalled).toContain('title="The replicator does not answer."');
    expect(toHtmlString(badge('PAUSED'))).toContain('badge-paused');
    expect(toHtmlString(badge('REPLICATING'))).toContain('badge-ok');
  });
});
