import type { ConsoleContext, RequestScope } from './context.js';
import { toHtmlString } from './html.js';
import { describeError } from './http-util.js';
import { connections, replicationPanel } from './views/broker.js';
import { brokersTable } from './views/brokers.js';

/** How often an idle stream sends a comment, so proxies keep it open. */
const heartbeatMs = 15_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Server-sent events for a live page: each round renders the page's live fragments and sends
 * the ones that changed (`fragment`: `{target, html}`, HTML escaped as on any page). Rounds are
 * faster while a promotion runs, so its steps are seen as they happen.
 */
export async function liveEvents(context: ConsoleContext, scope: RequestScope): Promise<void> {
  const { response, url, session } = scope;
  const view = url.searchParams.get('view');
  const brokerId = url.searchParams.get('id') ?? '';
  if (view !== 'brokers' && !(view === 'broker' && brokerId !== '')) {
    response.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('view must be brokers, or broker with an id');
    return;
  }
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  response.write('retry: 2000\n\n');

  const closed = new AbortController();
  const onStop = (): void => closed.abort();
  scope.request.once('close', onStop);
  context.stopping.addEventListener('abort', onStop, { once: true });

  const sent = new Map<string, string>();
  const send = (event: string, data: unknown): void => {
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendFragment = (target: string, html: string): void => {
    if (sent.get(target) === html) return;
    sent.set(target, html);
    send('fragment', { target, html });
  };
  let lastWriteMs = Date.now();
  let lastProblem = '';

  try {
    while (!closed.signal.aborted) {
      if (context.sessions.get(session.id, Date.now()) === undefined) {
        send('signed-out', {});
        break;
      }
      let fast = false;
      try {
        if (view === 'brokers') {
          const rows = await context.backend.brokerRows();
          sendFragment('brokers-table', toHtmlString(brokersTable(rows)));
          fast = rows.some((row) => context.backend.promotions.isRunning(row.summary.brokerId));
        } else {
          const broker = await context.backend.describe(brokerId);
          await context.backend.sampleLag([broker]);
          sendFragment(
            'replication-panel',
            toHtmlString(
              replicationPanel(
                broker,
                context.backend.lagOf(brokerId),
                context.backend.promotions.stepsOf(brokerId),
                context.peerConsoles,
              ),
            ),
          );
          sendFragment('connections', toHtmlString(connections(broker)));
          fast = context.backend.promotions.isRunning(brokerId);
        }
        if (lastProblem !== '') {
          lastProblem = '';
          send('recovered', {});
        }
        lastWriteMs = Date.now();
      } catch (error) {
        const message = describeError(error);
        if (message !== lastProblem) {
          lastProblem = message;
          send('problem', { message });
          lastWriteMs = Date.now();
        }
      }
      if (Date.now() - lastWriteMs >= heartbeatMs) {
        response.write(': heartbeat\n\n');
        lastWriteMs = Date.now();
      }
      await sleep(
        fast ? Math.min(250, context.refreshIntervalMs) : context.refreshIntervalMs,
        closed.signal,
      );
    }
  } finally {
    scope.request.off('close', onStop);
    context.stopping.removeEventListener('abort', onStop);
    response.end();
  }
}
