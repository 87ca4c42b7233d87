import type { brokerV1 } from '@crdr/proto';
import { consolePath, markup, queryString, type SafeHtml } from '../html.js';
import type { BrokerDescription } from '../model.js';
import { brokerCrumbs, brokerTabs } from './broker.js';
import type { FormValues } from './broker-forms.js';
import { formatEpochMs } from './format.js';
import { csrfField, page, type Flash, type Viewer } from './layout.js';

type DestinationInfo = brokerV1.DestinationInfo__Output;
type Delivery = brokerV1.Delivery__Output;
export type DestinationKind = 'queue' | 'topic';

function plural(kind: DestinationKind): string {
  return kind === 'queue' ? 'Queues' : 'Topics';
}

/** The link to the Send To form of one destination. */
export function sendToHref(brokerId: string, kind: DestinationKind, name: string): string {
  return consolePath('brokers', brokerId, 'send') + queryString({ type: kind, name });
}

export function destinationsPage(options: {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  readonly kind: DestinationKind;
  readonly destinations: readonly DestinationInfo[] | undefined;
  readonly loadError?: string;
  readonly flash?: Flash;
}): SafeHtml {
  const { broker, viewer, kind } = options;
  const id = broker.brokerId;
  const wanted = kind === 'queue' ? 'QUEUE' : 'TOPIC';
  const rows = (options.destinations ?? []).filter((d) => (d.type as string) === wanted);
  const title = plural(kind);
  const table =
    rows.length === 0
      ? markup`<p class="empty">No ${kind === 'queue' ? 'queues' : 'topics'} yet.</p>`
      : markup`<table class="grid" data-testid="destinations">
          <thead>
            <tr>
              <th>Name</th>
              ${
                kind === 'queue'
                  ? markup`<th>Pending messages</th>
                      <th>Consumers</th>`
                  : markup`<th>Consumers</th>
                      <th>Durable subscriptions</th>`
              }
              <th>Enqueued</th>
              <th>Dequeued</th>
              <th>Operations</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (destination) =>
                markup`<tr data-destination="${destination.name}">
                  <td>
                    ${kind === 'queue' ? markup`<a href="${consolePath('brokers', id, 'queues', destination.name, 'browse')}">${destination.name}</a>` : destination.name}
                  </td>
                  ${
                    kind === 'queue'
                      ? markup`<td data-testid="queue-size">${destination.queueSize}</td>
                          <td>${destination.consumerCount}</td>`
                      : markup`<td>${destination.consumerCount}</td>
                          <td>${destination.durableSubscriptionCount}</td>`
                  }
                  <td>${destination.enqueueCount}</td>
                  <td>${destination.dequeueCount}</td>
                  <td class="ops">
                    <a href="${sendToHref(id, kind, destination.name)}" data-testid="send-to"
                      >Send To</a
                    >${
                      kind === 'queue'
                        ? markup` <a
                            href="${consolePath('brokers', id, 'queues', destination.name, 'browse')}"
                            >Browse</a
                          >`
                        : markup``
                    }
                    <form
                      method="post"
                      action="${consolePath('brokers', id, 'destinations', 'purge')}"
                      class="inline"
                    >
                      ${csrfField(viewer)}<input type="hidden" name="type" value="${kind}" /><input
                        type="hidden"
                        name="name"
                        value="${destination.name}"
                      /><button
                        type="submit"
                        class="link"
                        data-confirm="Purge every message of this destination?"
                      >
                        Purge
                      </button>
                    </form>
                    <form
                      method="post"
                      action="${consolePath('brokers', id, 'destinations', 'delete')}"
                      class="inline"
                    >
                      ${csrfField(viewer)}<input type="hidden" name="type" value="${kind}" /><input
                        type="hidden"
                        name="name"
                        value="${destination.name}"
                      /><button
                        type="submit"
                        class="link danger"
                        data-confirm="Delete this destination and its messages?"
                      >
                        Delete
                      </button>
                    </form>
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return page(
    {
      title: `${title} of ${broker.brokerName || id}`,
      region: options.region,
      viewer,
      flash: options.flash,
      breadcrumbs: brokerCrumbs(broker, title),
    },
    markup`${brokerTabs(id, kind === 'queue' ? 'queues' : 'topics')}
      <form
        method="post"
        action="${consolePath('brokers', id, 'destinations')}"
        class="inline-form"
        data-testid="create-destination-form"
      >
        ${csrfField(viewer)}
        <input type="hidden" name="type" value="${kind}" />
        <label for="destination-name">${kind === 'queue' ? 'Queue name' : 'Topic name'}</label>
        <input type="text" id="destination-name" name="name" required autocomplete="off" />
        <button type="submit">Create</button>
      </form>
      ${options.loadError ? markup`<div class="notice notice-error" role="alert">${options.loadError}</div>` : table}`,
  );
}

export const sendFormDefaults: FormValues = {
  count: '1',
  body: '',
  headers: '',
  persistent: 'on',
  priority: '',
};

export function sendPage(options: {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  readonly kind: DestinationKind;
  readonly name: string;
  readonly values: FormValues;
  readonly flash?: Flash;
}): SafeHtml {
  const { broker, viewer, values } = options;
  const value = (key: string): string => values[key] ?? sendFormDefaults[key] ?? '';
  return page(
    {
      title: 'Send To',
      region: options.region,
      viewer,
      flash: options.flash,
      breadcrumbs: brokerCrumbs(broker, `Send To ${options.kind} ${options.name}`),
    },
    markup`${brokerTabs(broker.brokerId, options.kind === 'queue' ? 'queues' : 'topics')}
      <form
        method="post"
        action="${consolePath('brokers', broker.brokerId, 'send')}"
        class="form"
        data-testid="send-form"
      >
        ${csrfField(viewer)}
        <fieldset>
          <legend>Message header</legend>
          <div class="field">
            <label for="send-type">Destination type</label
            ><select id="send-type" name="type">
              <option value="queue" ${options.kind === 'queue' ? markup` selected` : markup``}>
                Queue
              </option>
              <option value="topic" ${options.kind === 'topic' ? markup` selected` : markup``}>
                Topic
              </option>
            </select>
          </div>
          <div class="field">
            <label for="send-name">Destination</label
            ><input
              type="text"
              id="send-name"
              name="name"
              value="${options.name}"
              required
              autocomplete="off"
            />
          </div>
          <div class="field">
            <label for="send-count">Number of messages to send</label
            ><input
              type="number"
              id="send-count"
              name="count"
              min="1"
              max="10000"
              value="${value('count')}"
              required
            />
          </div>
          <div class="field checkbox">
            <label
              ><input
                type="checkbox"
                name="persistent"
                id="send-persistent"
                ${value('persistent') === 'on' ? markup` checked` : markup``}
              />
              Persistent delivery</label
            >
          </div>
          <div class="field">
            <label for="send-priority">Priority (0–9)</label
            ><input
              type="number"
              id="send-priority"
              name="priority"
              min="0"
              max="9"
              value="${value('priority')}"
              placeholder="4"
            />
          </div>
          <div class="field">
            <label for="send-headers">Headers</label
            ><textarea
              id="send-headers"
              name="headers"
              rows="3"
              placeholder="name: value, one per line"
            >
${value('headers')}</textarea>
          </div>
        </fieldset>
        <fieldset>
          <legend>Message body</legend>
          <textarea id="send-body" name="body" rows="8" data-testid="send-body">
${value('body')}</textarea>
        </fieldset>
        <button type="submit" data-testid="send-submit">Send</button>
      </form>`,
  );
}

function bodyPreview(body: Buffer): { readonly text: string; readonly binary: boolean } {
  const text = body.toString('utf8');
  // Invalid UTF-8 round-trips to U+FFFD; show such bodies as base64 instead of mojibake.
  if (text.includes('\uFFFD') && !body.equals(Buffer.from(text, 'utf8')))
    return { text: body.toString('base64'), binary: true };
  return { text, binary: false };
}

export function browsePage(options: {
  readonly region: string;
  readonly viewer: Viewer;
  readonly broker: BrokerDescription;
  readonly queue: string;
  readonly messages: readonly Delivery[] | undefined;
  readonly loadError?: string;
  readonly flash?: Flash;
}): SafeHtml {
  const { broker, messages } = options;
  const list =
    messages === undefined
      ? markup``
      : messages.length === 0
        ? markup`<p class="empty" data-testid="no-messages">The queue holds no message.</p>`
        : markup`<p data-testid="message-count">
              ${messages.length} message${messages.length === 1 ? '' : 's'}
            </p>
            <table class="grid messages" data-testid="messages">
              <thead>
                <tr>
                  <th>Message ID</th>
                  <th>Timestamp</th>
                  <th>Priority</th>
                  <th>Persistent</th>
                  <th>Redelivered</th>
                  <th>Headers</th>
                  <th>Body</th>
                </tr>
              </thead>
              <tbody>
                ${messages.map((message) => {
                  const preview = bodyPreview(message.body);
                  const headers = Object.entries(message.headers).sort(([a], [b]) =>
                    a.localeCompare(b),
                  );
                  return markup`<tr data-message-id="${message.messageId}">
                    <td class="mono">${message.messageId}</td>
                    <td>${formatEpochMs(message.timestampMs)}</td>
                    <td>${message.priority}</td>
                    <td>${message.persistent ? 'yes' : 'no'}</td>
                    <td>${message.redelivered ? `yes (${message.redeliveryCount})` : 'no'}</td>
                    <td class="headers">
                      ${headers.map(([key, value]) => markup`<div><span class="mono">${key}</span>: ${value}</div>`)}
                    </td>
                    <td>
                      <pre class="body" data-testid="message-body">
${preview.binary ? markup`<em>base64</em> ` : markup``}${preview.text}</pre>
                    </td>
                  </tr>`;
                })}
              </tbody>
            </table>`;
  return page(
    {
      title: `Browse ${options.queue}`,
      region: options.region,
      viewer: options.viewer,
      flash: options.flash,
      breadcrumbs: brokerCrumbs(broker, `Queue ${options.queue}`),
    },
    markup`${brokerTabs(broker.brokerId, 'queues')}
      <div class="actions">
        <a class="button" href="${sendToHref(broker.brokerId, 'queue', options.queue)}">Send To</a>
        <a
          class="button secondary"
          href="${consolePath('brokers', broker.brokerId, 'queues', options.queue, 'browse')}"
          >Refresh</a
        >
      </div>
      ${options.loadError ? markup`<div class="notice notice-error" role="alert">${options.loadError}</div>` : list}`,
  );
}
