import type { brokerV1, controlPlaneV1 } from '@crdr/proto';
import { consolePath, markup, type SafeHtml } from '../html.js';
import type { BrokerDescription } from '../model.js';
import { brokerCrumbs, brokerTabs } from './broker.js';
import { csrfField, page, type Flash, type Viewer } from './layout.js';

type Stats = brokerV1.GetStatsResponse__Output;
type BrokerUser = brokerV1.User__Output;
type UserSummary = controlPlaneV1.UserSummary__Output;

export function consumersPage(options: {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  readonly stats: Stats | undefined;
  readonly loadError?: string;
}): SafeHtml {
  const { broker, stats } = options;
  const withConsumers = (stats?.destinations ?? []).filter(
    (d) => d.consumerCount > 0 || d.durableSubscriptionCount > 0,
  );
  const body =
    options.loadError !== undefined || stats === undefined
      ? markup`<div class="notice notice-error" role="alert">
          ${options.loadError ?? 'No statistics.'}
        </div>`
      : markup`<dl class="facts" data-testid="stats">
            <dt>Serving clients</dt>
            <dd>${stats.serving ? 'yes' : 'no'}</dd>
            <dt>Connections</dt>
            <dd>${stats.currentConnectionsCount}</dd>
            <dt>Consumers</dt>
            <dd data-testid="total-consumers">${stats.totalConsumerCount}</dd>
            <dt>Producers</dt>
            <dd>${stats.totalProducerCount}</dd>
            <dt>Messages</dt>
            <dd>${stats.totalMessageCount}</dd>
            <dt>Enqueued / dequeued</dt>
            <dd>${stats.totalEnqueueCount} / ${stats.totalDequeueCount}</dd>
          </dl>
          ${
            withConsumers.length === 0
              ? markup`<p class="empty">No destination has a consumer now.</p>`
              : markup`<table class="grid" data-testid="consumers">
                  <thead>
                    <tr>
                      <th>Destination</th>
                      <th>Type</th>
                      <th>Consumers</th>
                      <th>Durable subscriptions</th>
                      <th>Dispatched</th>
                      <th>Pending</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${withConsumers.map(
                      (d) =>
                        markup`<tr>
                          <td>${d.name}</td>
                          <td>${d.type}</td>
                          <td>${d.consumerCount}</td>
                          <td>${d.durableSubscriptionCount}</td>
                          <td>${d.dispatchCount}</td>
                          <td>${d.queueSize}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
          }`;
  return page(
    {
      title: `Consumers of ${broker.brokerName || broker.brokerId}`,
      region: options.region,
      viewer: options.viewer,
      breadcrumbs: brokerCrumbs(broker, 'Consumers'),
    },
    markup`${brokerTabs(broker.brokerId, 'consumers')}${body}`,
  );
}

export function usersPage(options: {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  /** The users the broker holds now (BrokerAdminService.ListUsers). */
  readonly brokerUsers: readonly BrokerUser[] | undefined;
  readonly brokerUsersError?: string;
  /** The control plane's view, with changes waiting for a reboot. */
  readonly controlPlaneUsers: readonly UserSummary[];
  readonly flash?: Flash;
}): SafeHtml {
  const { broker, viewer } = options;
  const pendingByName = new Map(
    options.controlPlaneUsers.map((u) => [u.username, u.pendingChange]),
  );
  const names = new Set<string>([
    ...(options.brokerUsers ?? []).map((u) => u.username),
    ...options.controlPlaneUsers.map((u) => u.username),
  ]);
  const brokerUserByName = new Map((options.brokerUsers ?? []).map((u) => [u.username, u]));
  const rows = [...names].sort();
  return page(
    {
      title: `Users of ${broker.brokerName || broker.brokerId}`,
      region: options.region,
      viewer,
      flash: options.flash,
      breadcrumbs: brokerCrumbs(broker, 'Users'),
    },
    markup`${brokerTabs(broker.brokerId, 'users')}
      ${options.brokerUsersError ? markup`<div class="notice notice-error" role="alert">${options.brokerUsersError}</div>` : markup``}
      <table class="grid" data-testid="users">
        <thead>
          <tr>
            <th>Username</th>
            <th>Console access</th>
            <th>Replication user</th>
            <th>Groups</th>
            <th>Pending change</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${rows.map((name) => {
            const user = brokerUserByName.get(name);
            return markup`<tr data-username="${name}">
              <td>${name}</td>
              <td>${user ? (user.consoleAccess ? 'yes' : 'no') : '—'}</td>
              <td>${user ? (user.replicationUser ? 'yes' : 'no') : '—'}</td>
              <td>${user ? user.groups.join(', ') : '—'}</td>
              <td>${pendingByName.get(name) || '—'}</td>
              <td>
                <form
                  method="post"
                  action="${consolePath('brokers', broker.brokerId, 'users', 'delete')}"
                  class="inline"
                >
                  ${csrfField(viewer)}<input type="hidden" name="username" value="${name}" /><button
                    type="submit"
                    class="link danger"
                    data-confirm="Delete this user (applied by a reboot)?"
                  >
                    Delete
                  </button>
                </form>
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
      <form
        method="post"
        action="${consolePath('brokers', broker.brokerId, 'users')}"
        class="form"
        data-testid="create-user-form"
      >
        ${csrfField(viewer)}
        <fieldset>
          <legend>Create user</legend>
          <div class="field">
            <label for="user-name">Username</label
            ><input type="text" id="user-name" name="username" required autocomplete="off" />
          </div>
          <div class="field">
            <label for="user-password">Password</label
            ><input
              type="password"
              id="user-password"
              name="password"
              required
              autocomplete="new-password"
            />
          </div>
          <div class="field">
            <label for="user-groups">Groups</label
            ><input
              type="text"
              id="user-groups"
              name="groups"
              placeholder="comma-separated"
              autocomplete="off"
            />
          </div>
          <div class="field checkbox">
            <label><input type="checkbox" name="consoleAccess" /> Console access</label>
          </div>
          <div class="field checkbox">
            <label><input type="checkbox" name="replicationUser" /> Replication user</label>
          </div>
          <p class="muted">As in Amazon MQ, user changes reach the broker when it is rebooted.</p>
          <button type="submit">Create user</button>
        </fieldset>
      </form>`,
  );
}
