import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { viewerOf, type ConsoleContext, type RequestScope } from './context.js';
import { createBrokerRequestOf, echoValues, promoteInputOf, type Form } from './forms.js';
import { consolePath } from './html.js';
import { describeError, httpStatusOf, redirect, sendHtml } from './http-util.js';
import { takeFlash } from './session.store.js';
import { brokerPage } from './views/broker.js';
import { createBrokerPage, createReplicaPage, type FormValues } from './views/broker-forms.js';
import { brokersPage } from './views/brokers.js';
import { errorPage } from './views/login.js';

type DivergentEvent = controlPlaneV1.DivergentEvent__Output;

export async function showBrokers(context: ConsoleContext, scope: RequestScope): Promise<void> {
  const viewer = viewerOf(scope.session);
  const flash = takeFlash(scope.session);
  try {
    const rows = await context.backend.brokerRows();
    sendHtml(scope.response, 200, brokersPage(context.region, viewer, rows, flash));
  } catch (error) {
    sendHtml(
      scope.response,
      httpStatusOf(error),
      brokersPage(context.region, viewer, [], { kind: 'error', message: describeError(error) }),
    );
  }
}

export function showCreateBroker(
  context: ConsoleContext,
  scope: RequestScope,
  values: FormValues = {},
  status = 200,
  error?: unknown,
): void {
  sendHtml(
    scope.response,
    status,
    createBrokerPage(
      context.region,
      viewerOf(scope.session),
      values,
      error === undefined
        ? takeFlash(scope.session)
        : { kind: 'error', message: describeError(error) },
    ),
  );
}

export async function showCreateReplica(
  context: ConsoleContext,
  scope: RequestScope,
  values: FormValues = {
    primaryBrokerArn: scope.url.searchParams.get('primaryBrokerArn') ?? '',
  },
  status = 200,
  error?: unknown,
): Promise<void> {
  // This Region's brokers, as suggestions only: a replica's primary is usually elsewhere.
  const arns = await context.backend
    .listBrokers()
    .then((brokers) => brokers.map((broker) => broker.brokerArn))
    .catch(() => []);
  sendHtml(
    scope.response,
    status,
    createReplicaPage(
      context.region,
      viewerOf(scope.session),
      values,
      arns,
      error === undefined
        ? takeFlash(scope.session)
        : { kind: 'error', message: describeError(error) },
    ),
  );
}

export async function createBroker(
  context: ConsoleContext,
  scope: RequestScope,
  form: Form,
  replica: boolean,
): Promise<void> {
  try {
    const request = createBrokerRequestOf(form, replica, randomUUID());
    const created = await context.backend.controlPlane.createBroker(request);
    context.logger?.info(
      { brokerId: created.brokerId, user: scope.session.username, replica },
      'console created a broker',
    );
    scope.session.flash = {
      kind: 'success',
      message: replica
        ? `Replica broker ${request.brokerName ?? ''} (${created.brokerId}) is being created. Reboot the primary broker to start replication.`
        : `Broker ${request.brokerName ?? ''} (${created.brokerId}) is being created.`,
    };
    redirect(scope.response, consolePath('brokers', created.brokerId));
  } catch (error) {
    const values = echoValues(form);
    if (replica) await showCreateReplica(context, scope, values, httpStatusOf(error), error);
    else showCreateBroker(context, scope, values, httpStatusOf(error), error);
  }
}

export async function showBroker(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
): Promise<void> {
  const viewer = viewerOf(scope.session);
  const flash = takeFlash(scope.session);
  let broker;
  try {
    broker = await context.backend.describe(brokerId);
  } catch (error) {
    sendHtml(
      scope.response,
      httpStatusOf(error),
      errorPage(context.region, 'Broker', describeError(error), viewer),
    );
    return;
  }
  await context.backend.sampleLag([broker]);
  let divergentEvents: DivergentEvent[] | undefined;
  if (broker.dataReplicationMetadata?.divergentTail) {
    divergentEvents = await context.backend.controlPlane
      .listDivergentEvents({ brokerId, maxResults: 100 })
      .then((response) => response.events)
      .catch(() => undefined);
  }
  const lag = context.backend.lagOf(brokerId);
  sendHtml(
    scope.response,
    200,
    brokerPage({
      region: context.region,
      viewer,
      broker,
      ...(lag ? { lag } : {}),
      steps: context.backend.promotions.stepsOf(brokerId),
      ...(divergentEvents ? { divergentEvents } : {}),
      ...(flash ? { flash } : {}),
      peers: context.peerConsoles,
    }),
  );
}

/** Runs an action of the broker page and comes back to it with the outcome as a notice. */
export async function brokerAction(
  context: ConsoleContext,
  scope: RequestScope,
  brokerId: string,
  action: string,
  form: Form,
): Promise<void> {
  const api = context.backend.controlPlane;
  const back = consolePath('brokers', brokerId);
  const user = scope.session.username;
  try {
    await context.backend.assertMayManage(scope.session, brokerId);
    switch (action) {
      case 'reboot':
        await api.rebootBroker({ brokerId });
        scope.session.flash = { kind: 'success', message: 'Reboot requested.' };
        break;
      case 'delete':
        await api.deleteBroker({ brokerId });
        context.logger?.info({ brokerId, user }, 'console deleted a broker');
        scope.session.flash = { kind: 'success', message: `Broker ${brokerId} is being deleted.` };
        redirect(scope.response, '/brokers');
        return;
      case 'promote': {
        const { mode } = promoteInputOf(form);
        await api.promote({ brokerId, mode });
        context.logger?.info({ brokerId, user, mode }, 'console started a promotion');
        scope.session.flash = {
          kind: 'success',
          message: `${mode === 'SWITCHOVER' ? 'Switchover' : 'Failover'} started: the steps show below as they happen.`,
        };
        break;
      }
      case 'divergent-tail': {
        const resolution = form.get('action') ?? '';
        if (resolution !== 'REPUBLISH' && resolution !== 'DISCARD')
          throw badRequest(`action must be REPUBLISH or DISCARD (got "${resolution}")`);
        const result = await api.resolveDivergentTail({ brokerId, action: resolution });
        scope.session.flash = {
          kind: 'success',
          message:
            resolution === 'REPUBLISH'
              ? `Republished ${result.republishedMessages} messages to the current primary.`
              : 'The divergent tail was discarded.',
        };
        break;
      }
      default:
        throw notFound(`no broker action "${action}"`);
    }
  } catch (error) {
    scope.session.flash = { kind: 'error', message: describeError(error) };
  }
  redirect(scope.response, back);
}
