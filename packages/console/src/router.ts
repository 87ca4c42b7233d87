import type { IncomingMessage } from 'node:http';
import {
  brokerAction,
  createBroker,
  showBroker,
  showBrokers,
  showCreateBroker,
  showCreateReplica,
} from './broker.routes.js';
import { viewerOf, type ConsoleContext, type RequestScope } from './context.js';
import {
  destinationAction,
  send,
  showBrowse,
  showConsumers,
  showDestinations,
  showSend,
  showUsers,
  userAction,
} from './destination.routes.js';
import { readForm, redirect, sendHtml, serializeCookie } from './http-util.js';
import { liveEvents } from './live.routes.js';
import { safeEqual, type Session } from './session.store.js';
import { errorPage } from './views/login.js';

/** A form of a signed-in page: same origin, right CSRF token. */
async function checkedForm(
  request: IncomingMessage,
  session: Session,
): Promise<Map<string, string> | undefined> {
  const origin = request.headers.origin;
  if (
    origin !== undefined &&
    origin !== 'null' &&
    origin !== `http://${request.headers.host}` &&
    origin !== `https://${request.headers.host}`
  )
    return undefined;
  const form = await readForm(request);
  return safeEqual(form.get('_csrf') ?? '', session.csrfToken) ? form : undefined;
}

/** The pages of a signed-in user; false when no page matches. */
export async function routeSignedIn(
  context: ConsoleContext,
  scope: Omit<RequestScope, 'session'>,
  session: Session,
): Promise<boolean> {
  const { request, response } = scope;
  const full: RequestScope = { ...scope, session };
  const [first, id, sub, name, leaf] = scope.segments;
  const method = request.method ?? 'GET';
  if (method === 'POST') {
    const form = await checkedForm(request, session);
    if (!form) {
      sendHtml(
        response,
        403,
        errorPage(
          context.region,
          'Refused',
          'The form was not sent from this console page; reload the page and try again.',
          viewerOf(session),
        ),
      );
      return true;
    }
    if (first === 'logout' && id === undefined) {
      context.sessions.delete(session.id);
      response.setHeader(
        'Set-Cookie',
        serializeCookie(context.cookieNames.session, '', {
          ...context.cookieOptions,
          maxAgeSeconds: 0,
        }),
      );
      redirect(response, '/login');
      return true;
    }
    if (first !== 'brokers') return false;
    if (id === undefined) {
      await createBroker(context, full, form, false);
      return true;
    }
    if (id === 'replica' && sub === undefined) {
      await createBroker(context, full, form, true);
      return true;
    }
    if (sub === undefined) return false;
    if (['reboot', 'delete', 'promote', 'divergent-tail'].includes(sub) && name === undefined) {
      await brokerAction(context, full, id, sub, form);
      return true;
    }
    if (sub === 'destinations') {
      const action = name === undefined ? 'create' : name;
      if (
        (action === 'create' || action === 'delete' || action === 'purge') &&
        leaf === undefined
      ) {
        await destinationAction(context, full, id, action, form);
        return true;
      }
      return false;
    }
    if (sub === 'send' && name === undefined) {
      await send(context, full, id, form);
      return true;
    }
    if (sub === 'users' && (name === undefined || (name === 'delete' && leaf === undefined))) {
      await userAction(context, full, id, name === undefined ? 'create' : 'delete', form);
      return true;
    }
    return false;
  }
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (first === undefined) {
    redirect(response, '/brokers');
    return true;
  }
  if (first === 'events' && id === undefined) {
    await liveEvents(context, full);
    return true;
  }
  if (first !== 'brokers') return false;
  if (id === undefined) await showBrokers(context, full);
  else if (id === 'new' && sub === undefined) showCreateBroker(context, full);
  else if (id === 'new-replica' && sub === undefined) await showCreateReplica(context, full);
  else if (sub === undefined) await showBroker(context, full, id);
  else if ((sub === 'queues' || sub === 'topics') && name === undefined)
    await showDestinations(context, full, id, sub === 'queues' ? 'queue' : 'topic');
  else if (sub === 'queues' && name !== undefined && leaf === 'browse')
    await showBrowse(context, full, id, name);
  else if (sub === 'send' && name === undefined) await showSend(context, full, id);
  else if (sub === 'consumers' && name === undefined) await showConsumers(context, full, id);
  else if (sub === 'users' && name === undefined) await showUsers(context, full, id);
  else return false;
  return true;
}
