import type { controlPlaneV1 } from '@crdr/proto';
import { consolePath, markup, queryString, type SafeHtml } from '../html.js';
import type { BrokerDescription, LagView, PromotionStepSeen } from '../model.js';
import { badge, formatLagMs, orDash } from './format.js';
import { csrfField, page, type Flash, type Viewer } from './layout.js';
import { sparkline } from './sparkline.js';

type DivergentEvent = controlPlaneV1.DivergentEvent__Output;

export type BrokerTab = 'overview' | 'queues' | 'topics' | 'consumers' | 'users';

/** The links between a broker's pages. */
export function brokerTabs(brokerId: string, active: BrokerTab): SafeHtml {
  const tabs: readonly [BrokerTab, string, string][] = [
    ['overview', 'Overview', consolePath('brokers', brokerId)],
    ['queues', 'Queues', consolePath('brokers', brokerId, 'queues')],
    ['topics', 'Topics', consolePath('brokers', brokerId, 'topics')],
    ['consumers', 'Consumers', consolePath('brokers', brokerId, 'consumers')],
    ['users', 'Users', consolePath('brokers', brokerId, 'users')],
  ];
  return markup`<nav class="tabs">
    ${tabs.map(
      ([tab, label, href]) =>
        markup`<a
          href="${href}"
          ${tab === active ? markup` class="active" aria-current="page"` : markup``}
          >${label}</a
        >`,
    )}
  </nav>`;
}

/** The broker's name for titles: its name, else its id. */
export function brokerTitle(broker: Pick<BrokerDescription, 'brokerName' | 'brokerId'>): string {
  return broker.brokerName || broker.brokerId;
}

export function brokerCrumbs(
  broker: Pick<BrokerDescription, 'brokerName' | 'brokerId'>,
  here?: string,
): { label: string; href?: string }[] {
  const crumbs: { label: string; href?: string }[] = [{ label: 'Brokers', href: '/brokers' }];
  if (here === undefined) crumbs.push({ label: brokerTitle(broker) });
  else {
    crumbs.push({ label: brokerTitle(broker), href: consolePath('brokers', broker.brokerId) });
    crumbs.push({ label: here });
  }
  return crumbs;
}

/**
 * The Data replication panel: role, counterpart, status, lag, pending mode and, while one runs,
 * the promotion with every step the console has seen. Sent alone over SSE (`replication-panel`).
 */
/** Other Regions' console URLs by Region name, to link a counterpart broker. */
export type PeerConsoles = Readonly<Record<string, string>>;

/** The page of broker `brokerId` on the console of `region`, when that console is known. */
export function peerBrokerUrl(
  peers: PeerConsoles,
  region: string,
  brokerId: string,
): string | undefined {
  const base = peers[region];
  if (base === undefined) return undefined;
  return new URL(consolePath('brokers', brokerId), base).toString();
}

export function replicationPanel(
  broker: BrokerDescription,
  lag: LagView | undefined,
  steps: readonly PromotionStepSeen[],
  peers: PeerConsoles = {},
): SafeHtml {
  const metadata = broker.dataReplicationMetadata;
  const pending = broker.pendingDataReplicationMetadata;
  const counterpart = metadata?.dataReplicationCounterpart;
  const promotion = metadata?.promotion;
  return markup`<dl class="facts">
      <dt>Broker state</dt>
      <dd>
        ${badge(broker.brokerState, 'broker-state')}${broker.brokerStateReason ? markup` <span class="reason" data-testid="broker-state-reason">${broker.brokerStateReason}</span>` : markup``}
      </dd>
      <dt>Data replication mode</dt>
      <dd data-testid="replication-mode">${orDash(broker.dataReplicationMode)}</dd>
      <dt>Pending data replication mode</dt>
      <dd data-testid="pending-replication-mode">${orDash(broker.pendingDataReplicationMode)}</dd>
      <dt>Role</dt>
      <dd>${badge(metadata?.dataReplicationRole, 'replication-role')}</dd>
      <dt>Counterpart</dt>
      <dd data-testid="counterpart">
        ${
          counterpart && counterpart.brokerId
            ? markup`${linkOrText(
                peerBrokerUrl(peers, counterpart.region, counterpart.brokerId),
                markup`<span class="mono">${counterpart.brokerId}</span>`,
              )} in ${counterpart.region}`
            : markup`—`
        }
      </dd>
      <dt>Replication status</dt>
      <dd>
        ${badge(metadata?.replicationStatus, 'replication-status')}${
          metadata?.replicationStatusReason
            ? markup` <span class="reason" data-testid="replication-status-reason"
                >${metadata.replicationStatusReason}</span
              >`
            : markup``
        }
      </dd>
      <dt>${lag?.metric ?? 'Replication lag'}</dt>
      <dd data-testid="lag">
        ${
          lag
            ? markup`${sparkline(lag.points, { label: lag.metric, width: 180, height: 32 })}
                <span class="lag-value" data-testid="lag-value">${formatLagMs(lag.lastLagMs)}</span
                >${
                  lag.pendingEvents !== undefined
                    ? markup` <span class="muted">(${lag.pendingEvents} events pending)</span>`
                    : markup``
                }${lag.error ? markup` <span class="muted">${lag.error}</span>` : markup``}`
            : markup`—`
        }
      </dd>
      ${
        pending && (pending.dataReplicationRole || pending.dataReplicationCounterpart?.brokerId)
          ? markup`<dt>Pending replication</dt>
              <dd data-testid="pending-replication">
                ${orDash(pending.dataReplicationRole)}${
                  pending.dataReplicationCounterpart?.brokerId
                    ? markup` with
                        <span class="mono">${pending.dataReplicationCounterpart.brokerId}</span> in
                        ${pending.dataReplicationCounterpart.region}`
                    : markup``
                }
                (applied by a reboot)
              </dd>`
          : markup``
      }
    </dl>
    ${
      promotion && promotion.step
        ? markup`<div class="promotion" data-testid="promotion">
            <h3>Promotion in progress</h3>
            <p>
              ${badge(promotion.mode)} started ${orDash(promotion.startedAt)}, step
              <strong data-testid="promotion-step">${promotion.step}</strong>
            </p>
          </div>`
        : markup``
    }
    ${
      steps.length > 0
        ? markup`<div class="steps">
            <h3>Promotion steps seen</h3>
            <ol data-testid="promotion-steps">
              ${steps.map(
                (step) =>
                  markup`<li>
                    <span class="mono">${step.seenAt}</span> ${step.mode} ·
                    <strong>${step.step}</strong>
                  </li>`,
              )}
            </ol>
          </div>`
        : markup``
    }`;
}

function linkOrText(href: string | undefined, content: SafeHtml): SafeHtml {
  return href === undefined ? content : markup`<a href="${href}">${content}</a>`;
}

/** After a failover: what the old primary committed past the failover point, and what to do. */
export function divergentTailPanel(
  broker: BrokerDescription,
  viewer: Viewer,
  events: readonly DivergentEvent[] | undefined,
): SafeHtml {
  const tail = broker.dataReplicationMetadata?.divergentTail;
  if (!tail || (tail.eventCount === '0' && tail.state === '')) return markup``;
  const action = consolePath('brokers', broker.brokerId, 'divergent-tail');
  return markup`<section class="panel" data-testid="divergent-tail">
    <h2>Divergent tail</h2>
    <p>
      After the failover, this broker had committed <strong>${tail.eventCount}</strong> events past
      the failover point ${tail.failoverSequence} (sequences
      ${tail.firstSequence}–${tail.lastSequence}) that the new primary never received.
    </p>
    <dl class="facts">
      <dt>State</dt>
      <dd>${badge(tail.state, 'divergent-state')}</dd>
      <dt>Destinations</dt>
      <dd>${tail.destinations.length > 0 ? tail.destinations.join(', ') : '—'}</dd>
    </dl>
    ${
      events && events.length > 0
        ? markup`<table class="grid compact">
            <thead>
              <tr>
                <th>Sequence</th>
                <th>Event</th>
                <th>Destination</th>
                <th>Message ID</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              ${events.map(
                (event) =>
                  markup`<tr>
                    <td>${event.sequence}</td>
                    <td>${event.eventType}</td>
                    <td>${event.destination}</td>
                    <td class="mono">${event.messageId}</td>
                    <td>${event.createdAt}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : markup``
    }
    ${
      tail.state === 'PENDING' || tail.state === ''
        ? markup`<div class="actions">
            <form method="post" action="${action}" class="inline">
              ${csrfField(viewer)}<input type="hidden" name="action" value="REPUBLISH" /><button
                type="submit"
                data-confirm="Republish the divergent messages to the current primary?"
              >
                Republish to current primary
              </button>
            </form>
            <form method="post" action="${action}" class="inline">
              ${csrfField(viewer)}<input type="hidden" name="action" value="DISCARD" /><button
                type="submit"
                class="danger"
                data-confirm="Discard the divergent events for good?"
              >
                Discard
              </button>
            </form>
          </div>`
        : markup``
    }
  </section>`;
}

/** Promote replica: Switchover or Failover, enabled only once `confirm` is typed exactly. */
export function promoteForm(broker: BrokerDescription, viewer: Viewer): SafeHtml {
  return markup`<section class="panel" id="promote">
    <h2>Promote replica</h2>
    <form
      method="post"
      action="${consolePath('brokers', broker.brokerId, 'promote')}"
      data-testid="promote-form"
    >
      ${csrfField(viewer)}
      <fieldset class="choices">
        <legend>Promotion mode</legend>
        <label
          ><input type="radio" name="mode" value="SWITCHOVER" checked />
          <strong>Switchover</strong> — consistency first: waits until both brokers hold the same
          state; clients may wait.</label
        >
        <label
          ><input type="radio" name="mode" value="FAILOVER" /> <strong>Failover</strong> —
          availability first: the replica serves at once, whatever it has received.</label
        >
      </fieldset>
      <label for="promote-confirm"
        >To confirm the promotion, type <kbd>confirm</kbd> in the box.</label
      >
      <input
        type="text"
        id="promote-confirm"
        name="confirm"
        autocomplete="off"
        spellcheck="false"
        placeholder="confirm"
        data-testid="promote-confirm"
      />
      <button
        type="submit"
        id="promote-button"
        data-requires-word="confirm"
        data-word-input="promote-confirm"
        data-testid="promote-button"
        disabled
      >
        Confirm
      </button>
    </form>
  </section>`;
}

export interface BrokerPageData {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  readonly lag?: LagView;
  readonly steps: readonly PromotionStepSeen[];
  readonly divergentEvents?: readonly DivergentEvent[];
  readonly flash?: Flash;
  readonly peers?: PeerConsoles;
}

export function brokerPage(data: BrokerPageData): SafeHtml {
  const { broker, viewer } = data;
  const isReplica = broker.dataReplicationMetadata?.dataReplicationRole === 'REPLICA';
  const unpaired = !broker.dataReplicationMetadata?.dataReplicationRole;
  return page(
    {
      title: brokerTitle(broker),
      region: data.region,
      viewer,
      flash: data.flash,
      live: { view: 'broker', brokerId: broker.brokerId },
      breadcrumbs: brokerCrumbs(broker),
    },
    markup`${brokerTabs(broker.brokerId, 'overview')}
      <div class="columns">
        <section class="panel">
          <h2>Details</h2>
          <dl class="facts">
            <dt>Broker ID</dt>
            <dd class="mono" data-testid="broker-id">${broker.brokerId}</dd>
            <dt>ARN</dt>
            <dd class="mono" data-testid="broker-arn">${broker.brokerArn}</dd>
            <dt>Engine</dt>
            <dd>${broker.engineType} ${broker.engineVersion}</dd>
            <dt>Deployment mode</dt>
            <dd>${broker.deploymentMode}</dd>
            <dt>Instance type</dt>
            <dd>${broker.hostInstanceType}</dd>
            <dt>Created</dt>
            <dd>${orDash(broker.created)}</dd>
            <dt>Region</dt>
            <dd>${orDash(broker.region || data.region)}</dd>
          </dl>
        </section>
        <section class="panel">
          <h2>Data replication</h2>
          <div id="replication-panel" data-live="replication-panel">
            ${replicationPanel(broker, data.lag, data.steps, data.peers)}
          </div>
        </section>
      </div>
      <section class="panel">
        <h2>Connections</h2>
        <div id="connections" data-live="connections">${connections(broker)}</div>
      </section>
      ${divergentTailPanel(broker, viewer, data.divergentEvents)}
      <section class="panel">
        <h2>Actions</h2>
        <div class="actions">
          <form
            method="post"
            action="${consolePath('brokers', broker.brokerId, 'reboot')}"
            class="inline"
          >
            ${csrfField(viewer)}<button
              type="submit"
              data-testid="reboot-button"
              data-confirm="Reboot this broker?"
            >
              Reboot
            </button>
          </form>
          <form
            method="post"
            action="${consolePath('brokers', broker.brokerId, 'delete')}"
            class="inline"
          >
            ${csrfField(viewer)}<button
              type="submit"
              class="danger"
              data-confirm="Delete this broker and its data?"
            >
              Delete broker
            </button>
          </form>
          ${
            unpaired
              ? Object.entries(data.peers ?? {}).map(
                  ([region, base]) =>
                    markup`<a
                    class="button secondary"
                    href="${new URL('/brokers/new-replica', base).toString()}${queryString({ primaryBrokerArn: broker.brokerArn })}"
                    >Create replica in ${region}</a
                  >`,
                )
              : markup``
          }
        </div>
      </section>
      ${isReplica ? promoteForm(broker, viewer) : markup``}`,
  );
}

/** The broker's instances and their endpoints. */
export function connections(broker: BrokerDescription): SafeHtml {
  if (broker.brokerInstances.length === 0)
    return markup`<p class="muted">No instance is running.</p>`;
  return markup`<table class="grid compact">
    <thead>
      <tr>
        <th>Instance</th>
        <th>State</th>
        <th>Endpoints</th>
      </tr>
    </thead>
    <tbody>
      ${broker.brokerInstances.map(
        (instance, index) =>
          markup`<tr>
            <td>${index + 1}${instance.ipAddress ? markup` (${instance.ipAddress})` : markup``}</td>
            <td>${badge(instance.instanceState)}</td>
            <td class="mono">
              ${instance.endpoints.map((endpoint) => markup`<div>${endpoint}</div>`)}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
