import { consolePath, markup, type SafeHtml } from '../html.js';
import type { BrokerRow } from '../model.js';
import { badge, formatLagMs } from './format.js';
import { page, type Flash, type Viewer } from './layout.js';
import { sparkline } from './sparkline.js';

/** The table of brokers; also sent alone over SSE (`brokers-table`) to refresh it live. */
export function brokersTable(rows: readonly BrokerRow[]): SafeHtml {
  if (rows.length === 0) {
    return markup`<p class="empty" data-testid="no-brokers">
      No brokers in this Region yet. <a href="/brokers/new">Create a broker</a>.
    </p>`;
  }
  return markup`<table class="grid" data-testid="brokers">
    <thead>
      <tr>
        <th>Name</th>
        <th>Broker ID</th>
        <th>State</th>
        <th>Deployment mode</th>
        <th>Instance type</th>
        <th>Role</th>
        <th>Replication status</th>
        <th>Lag</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map((row) => brokerRow(row))}
    </tbody>
  </table>`;
}

function brokerRow(row: BrokerRow): SafeHtml {
  const { summary, description, lag } = row;
  const metadata = description?.dataReplicationMetadata;
  const name = summary.brokerName || summary.brokerId;
  return markup`<tr data-broker-id="${summary.brokerId}" data-broker-name="${summary.brokerName}">
    <td><a href="${consolePath('brokers', summary.brokerId)}">${name}</a></td>
    <td class="mono">${summary.brokerId}</td>
    <td>${badge(description?.brokerState ?? summary.brokerState, 'broker-state')}</td>
    <td>${summary.deploymentMode}</td>
    <td>${summary.hostInstanceType}</td>
    <td>${badge(metadata?.dataReplicationRole, 'replication-role')}</td>
    <td>
      ${badge(
        metadata?.replicationStatus,
        'replication-status',
        metadata?.replicationStatusReason || undefined,
      )}
    </td>
    <td class="lag">
      ${
        lag
          ? markup`${sparkline(lag.points, { label: `${lag.metric} of ${name}` })}
              <span class="lag-value" data-testid="lag-value">${formatLagMs(lag.lastLagMs)}</span>`
          : markup`<span class="muted">—</span>`
      }
    </td>
  </tr>`;
}

export function brokersPage(
  region: string,
  viewer: Viewer,
  rows: readonly BrokerRow[],
  flash?: Flash,
): SafeHtml {
  return page(
    { title: 'Brokers', region, viewer, flash, live: { view: 'brokers' } },
    markup`<div class="actions">
        <a class="button" href="/brokers/new">Create broker</a>
        <a class="button secondary" href="/brokers/new-replica">Create replica broker</a>
      </div>
      <section id="brokers-table" data-live="brokers-table">${brokersTable(rows)}</section>`,
  );
}
