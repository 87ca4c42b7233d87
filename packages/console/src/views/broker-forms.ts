import { markup, type SafeHtml } from '../html.js';
import { csrfField, page, type Flash, type Viewer } from './layout.js';

/** What the user typed, echoed back after an API error (passwords never are). */
export type FormValues = Readonly<Record<string, string>>;

export const engineTypes = ['ACTIVEMQ'] as const;
export const hostInstanceTypes = [
  'mq.t3.micro',
  'mq.m5.large',
  'mq.m5.xlarge',
  'mq.m5.2xlarge',
  'mq.m5.4xlarge',
] as const;
export const deploymentModes = ['SINGLE_INSTANCE', 'ACTIVE_STANDBY_MULTI_AZ'] as const;

export const brokerFormDefaults: FormValues = {
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
};

function valueOf(values: FormValues, name: string): string {
  return values[name] ?? brokerFormDefaults[name] ?? '';
}

function textField(
  values: FormValues,
  name: string,
  label: string,
  extra: { required?: boolean; hint?: string; type?: 'text' | 'password' } = {},
): SafeHtml {
  const type = extra.type ?? 'text';
  const value = type === 'password' ? '' : valueOf(values, name);
  return markup`<div class="field">
    <label for="f-${name}">${label}</label
    ><input
      type="${type}"
      id="f-${name}"
      name="${name}"
      value="${value}"
      ${extra.required ? markup` required` : markup``}
      autocomplete="${type === 'password' ? 'new-password' : 'off'}"
    />${extra.hint ? markup`<small>${extra.hint}</small>` : markup``}
  </div>`;
}

function selectField(
  values: FormValues,
  name: string,
  label: string,
  options: readonly string[],
): SafeHtml {
  const selected = valueOf(values, name);
  return markup`<div class="field">
    <label for="f-${name}">${label}</label
    ><select id="f-${name}" name="${name}">
      ${options.map(
        (option) =>
          markup`<option value="${option}" ${option === selected ? markup` selected` : markup``}>
            ${option}
          </option>`,
      )}
    </select>
  </div>`;
}

function usersFields(values: FormValues, replica: boolean): SafeHtml {
  return markup`<fieldset>
      <legend>ActiveMQ console user</legend>
      <p class="muted">
        ${
          replica
            ? "Optional: the primary broker's users are copied to the replica. A user given here replaces the copy of the same name."
            : "A broker user with console access: it can sign in to this console and manage the broker's queues and topics."
        }
      </p>
      ${textField(values, 'consoleUsername', 'Username', { required: !replica })}
      ${textField(values, 'consolePassword', 'Password', { required: !replica, type: 'password', hint: 'At least 12 characters, 4 of them different; no comma, colon or equal sign.' })}
    </fieldset>
    <fieldset>
      <legend>Data replication user</legend>
      <p class="muted">
        The user the replica's replicator connects as to bridge the two brokers (optional on a
        standalone broker).
      </p>
      ${textField(values, 'replicationUsername', 'Username', { required: replica })}
      ${textField(values, 'replicationPassword', 'Password', { required: replica, type: 'password' })}
    </fieldset>`;
}

function engineFields(values: FormValues): SafeHtml {
  return markup`<fieldset>
    <legend>Broker</legend>
    ${selectField(values, 'engineType', 'Engine type', engineTypes)}
    ${textField(values, 'engineVersion', 'Engine version', { required: true, hint: 'Cross-Region data replication needs 5.17.6 or later.' })}
    ${selectField(values, 'hostInstanceType', 'Broker instance type', hostInstanceTypes)}
    ${selectField(values, 'deploymentMode', 'Deployment mode', deploymentModes)}
  </fieldset>`;
}

export function createBrokerPage(
  region: string,
  viewer: Viewer,
  values: FormValues,
  flash?: Flash,
): SafeHtml {
  return page(
    {
      title: 'Create broker',
      region,
      viewer,
      flash,
      breadcrumbs: [{ label: 'Brokers', href: '/brokers' }, { label: 'Create broker' }],
    },
    markup`<form method="post" action="/brokers" class="form" data-testid="create-broker-form">
      ${csrfField(viewer)}
      <fieldset>
        <legend>Details</legend>
        ${textField(values, 'brokerName', 'Broker name', { required: true, hint: 'Letters, digits, - and _; unique in the Region.' })}
      </fieldset>
      ${engineFields(values)} ${usersFields(values, false)}
      <button type="submit" data-testid="create-broker-submit">Create broker</button>
    </form>`,
  );
}

export function createReplicaPage(
  region: string,
  viewer: Viewer,
  values: FormValues,
  primaryArns: readonly string[],
  flash?: Flash,
): SafeHtml {
  return page(
    {
      title: 'Create replica broker',
      region,
      viewer,
      flash,
      breadcrumbs: [{ label: 'Brokers', href: '/brokers' }, { label: 'Create replica broker' }],
    },
    markup`<form
      method="post"
      action="/brokers/replica"
      class="form"
      data-testid="create-replica-form"
    >
      ${csrfField(viewer)}
      <fieldset>
        <legend>Primary broker</legend>
        <div class="field">
          <label for="f-primaryBrokerArn">Primary broker ARN</label
          ><input
            type="text"
            id="f-primaryBrokerArn"
            name="primaryBrokerArn"
            list="primary-arns"
            value="${valueOf(values, 'primaryBrokerArn')}"
            required
            autocomplete="off"
          /><small
            >The replica is created in this Region (${region}); its primary is usually in another
            Region: arn:mq:REGION:local:broker:NAME:ID.</small
          >
        </div>
        <datalist id="primary-arns">
          ${primaryArns.map((arn) => markup`<option value="${arn}"></option>`)}
        </datalist>
      </fieldset>
      <fieldset>
        <legend>Replica broker details</legend>
        ${textField(values, 'brokerName', 'Replica broker name', { required: true })}
      </fieldset>
      ${engineFields(values)} ${usersFields(values, true)}
      <p class="muted">Replication starts once the primary broker is rebooted.</p>
      <button type="submit" data-testid="create-replica-submit">Create replica broker</button>
    </form>`,
  );
}
