import { badRequest } from '@crdr/errors';
import type { brokerV1 } from '@crdr/proto';
import { viewerOf, type ConsoleContext, type RequestScope } from './context.js';
import {
  destinationKindOf,
  destinationTypeOf,
  echoValues,
  groupsOf,
  sendToInputOf,
  type DestinationKind,
  type Form,
} from './forms.js';
import { consolePath } from './html.js';
import { describeError, httpStatusOf, redirect, sendHtml } from './http-util.js';
import type { BrokerDescription } from './model.js';
import { takeFlash } from './session.store.js';
import { consumersPage, usersPage } from './views/broker-stats.js';
import type { FormValues } from './views/broker-forms.js';
import { browsePage, destinationsPage, sendPage } from './views/destinations.js';
import { errorPage } from './views/login.js';

/** The broker, or an error page already sent. */
async function brokerOrError(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
): Promise<BrokerDescription | undefined> {
  try {
    return await context.backend.describe(brokerId);
  } catch (error) {
    sendHtml(
      scope.response,
      httpStatusOf(error),
      errorPage(context.region, 'Broker', describeError(error), viewerOf(scope.session)),
    );
    return undefined;
  }
}

export async function showDestinations(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  kind: DestinationKind,
): Promise<void> {
  const broker = await brokerOrError(context, scope, brokerId);
  if (!broker) return;
  let destinations: brokerV1.DestinationInfo__Output[] | undefined;
  let loadError: string | undefined;
  try {
    destinations = (
      await context.backend.withBrokerAdmin(scope.session, broker, (admin) =>
        admin.listDestinations({}),
      )
    ).destinations;
  } catch (error) {
    loadError = describeError(error);
  }
  const flash = takeFlash(scope.session);
  sendHtml(
    scope.response,
    200,
    destinationsPage({
      region: context.region,
      viewer: viewerOf(scope.session),
      broker,
      kind,
      destinations,
      ...(loadError === undefined ? {} : { loadError }),
      ...(flash ? { flash } : {}),
    }),
  );
}

/** Create, delete or purge a destination, then back to its list with the outcome. */
export async function destinationAction(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  action: 'create' | 'delete' | 'purge',
  form: Form,
): Promise<void> {
  let kind: DestinationKind = 'queue';
  try {
    kind = destinationKindOf(form.get('type'));
    const name = (form.get('name') ?? '').trim();
    if (name === '') throw badRequest('destination name is required');
    const broker = await context.backend.describe(brokerId);
    const request = { type: destinationTypeOf(kind), name };
    const message = await context.backend.withBrokerAdmin(scope.session, broker, async (admin) => {
      switch (action) {
        case 'create':
          await admin.createDestination(request);
          return `Created ${kind} ${name}.`;
        case 'delete':
          await admin.deleteDestination(request);
          return `Deleted ${kind} ${name}.`;
        case 'purge': {
          const { purged } = await admin.purgeDestination(request);
          return `Purged ${purged} messages from ${kind} ${name}.`;
        }
      }
    });
    scope.session.flash = { kind: 'success', message };
  } catch (error) {
    scope.session.flash = { kind: 'error', message: describeError(error) };
  }
  redirect(
    scope.response,
    consolePath('brokers', brokerId, kind === 'queue' ? 'queues' : 'topics'),
  );
}

export async function showSend(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  values: FormValues = {},
  status = 200,
  error?: unknown,
): Promise<void> {
  const broker = await brokerOrError(context, scope, brokerId);
  if (!broker) return;
  const kindText = values['type'] ?? scope.url.searchParams.get('type') ?? 'queue';
  const kind: DestinationKind = kindText === 'topic' ? 'topic' : 'queue';
  const name = values['name'] ?? scope.url.searchParams.get('name') ?? '';
  const flash =
    error === undefined
      ? takeFlash(scope.session)
      : { kind: 'error' as const, message: describeError(error) };
  sendHtml(
    scope.response,
    status,
    sendPage({
      region: context.region,
      viewer: viewerOf(scope.session),
      broker,
      kind,
      name,
      values,
      ...(flash ? { flash } : {}),
    }),
  );
}

/** Send To: `count` copies of the message on one gRPC stream, each durable before the answer. */
export async function send(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  form: Form,
): Promise<void> {
  try {
    const input = sendToInputOf(form);
    const broker = await context.backend.describe(brokerId);
    const { messageIds } = await context.backend.withBroker(scope.session, broker, (client) =>
      client.sendStream(
        (function* () {
          for (let index = 0; index < input.count; index += 1) yield input.request;
        })(),
      ),
    );
    scope.session.flash = {
      kind: 'success',
      message: `Sent ${messageIds.length} message${messageIds.length === 1 ? '' : 's'} to ${input.kind} ${input.name}.`,
    };
    redirect(
      scope.response,
      input.kind === 'queue'
        ? consolePath('brokers', brokerId, 'queues', input.name, 'browse')
        : consolePath('brokers', brokerId, 'topics'),
    );
  } catch (error) {
    await showSend(context, scope, brokerId, echoValues(form), httpStatusOf(error), error);
  }
}

export async function showBrowse(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  queue: string,
): Promise<void> {
  const broker = await brokerOrError(context, scope, brokerId);
  if (!broker) return;
  let messages: brokerV1.Delivery__Output[] | undefined;
  let loadError: string | undefined;
  try {
    messages = (
      await context.backend.withBrokerAdmin(scope.session, broker, (admin) =>
        admin.browseQueue({ name: queue, maxMessages: 500 }),
      )
    ).messages;
  } catch (error) {
    loadError = describeError(error);
  }
  const flash = takeFlash(scope.session);
  sendHtml(
    scope.response,
    200,
    browsePage({
      region: context.region,
      viewer: viewerOf(scope.session),
      broker,
      queue,
      messages,
      ...(loadError === undefined ? {} : { loadError }),
      ...(flash ? { flash } : {}),
    }),
  );
}

export async function showConsumers(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
): Promise<void> {
  const broker = await brokerOrError(context, scope, brokerId);
  if (!broker) return;
  let stats: brokerV1.GetStatsResponse__Output | undefined;
  let loadError: string | undefined;
  try {
    stats = await context.backend.withBrokerAdmin(scope.session, broker, (admin) =>
      admin.getStats({}),
    );
  } catch (error) {
    loadError = describeError(error);
  }
  sendHtml(
    scope.response,
    200,
    consumersPage({
      region: context.region,
      viewer: viewerOf(scope.session),
      broker,
      stats,
      ...(loadError === undefined ? {} : { loadError }),
    }),
  );
}

export async function showUsers(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
): Promise<void> {
  const broker = await brokerOrError(context, scope, brokerId);
  if (!broker) return;
  let brokerUsers: brokerV1.User__Output[] | undefined;
  let brokerUsersError: string | undefined;
  try {
    brokerUsers = (
      await context.backend.withBrokerAdmin(scope.session, broker, (admin) => admin.listUsers({}))
    ).users;
  } catch (error) {
    brokerUsersError = `Users on the broker: ${describeError(error)}`;
  }
  const controlPlaneUsers = await context.backend.controlPlane
    .listUsers({ brokerId, maxResults: 100 })
    .then((response) => response.users)
    .catch(() => broker.users);
  const flash = takeFlash(scope.session);
  sendHtml(
    scope.response,
    200,
    usersPage({
      region: context.region,
      viewer: viewerOf(scope.session),
      broker,
      brokerUsers,
      ...(brokerUsersError === undefined ? {} : { brokerUsersError }),
      controlPlaneUsers,
      ...(flash ? { flash } : {}),
    }),
  );
}

/** Users change through the control plane (applied on the broker by a reboot, as Amazon MQ). */
export async function userAction(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  action: 'create' | 'delete',
  form: Form,
): Promise<void> {
  const username = (form.get('username') ?? '').trim();
  try {
    await context.backend.assertMayManage(scope.session, brokerId);
    if (action === 'create') {
      await context.backend.controlPlane.createUser({
        brokerId,
        username,
        password: form.get('password') ?? '',
        consoleAccess: form.get('consoleAccess') === 'on',
        replicationUser: form.get('replicationUser') === 'on',
        groups: groupsOf(form.get('groups') ?? ''),
      });
      scope.session.flash = {
        kind: 'success',
        message: `User ${username} created; reboot the broker to apply it.`,
      };
    } else {
      await context.backend.controlPlane.deleteUser({ brokerId, username });
      scope.session.flash = {
        kind: 'success',
        message: `User ${username} deleted; reboot the broker to apply it.`,
      };
    }
  } catch (error) {
    scope.session.flash = { kind: 'error', message: describeError(error) };
  }
  redirect(scope.response, consolePath('brokers', brokerId, 'users'));
}
