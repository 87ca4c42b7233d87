import { markup, type SafeHtml } from '../html.js';

/** A notice shown once at the top of the next page (after a redirect). */
export interface Flash {
  readonly kind: 'success' | 'error';
  readonly message: string;
}

/** Who is signed in, and the token every form of the session carries. */
export interface Viewer {
  readonly username: string;
  readonly csrfToken: string;
}

/** What the page's script subscribes to over SSE: `/events?view=...&id=...`. */
export interface LiveView {
  readonly view: 'brokers' | 'broker';
  readonly brokerId?: string;
}

export interface PageOptions {
  readonly title: string;
  readonly region: string;
  readonly viewer?: Viewer;
  readonly flash?: Flash;
  readonly live?: LiveView;
  readonly breadcrumbs?: readonly { readonly label: string; readonly href?: string }[];
}

/** The hidden field that proves a form came from a page of this session. */
export function csrfField(viewer: Viewer): SafeHtml {
  return markup`<input type="hidden" name="_csrf" value="${viewer.csrfToken}" />`;
}

/** An API error or a success, as the API gave it. */
export function notice(flash: Flash | undefined): SafeHtml {
  if (!flash) return markup``;
  return markup`<div
    class="notice notice-${flash.kind}"
    role="${flash.kind === 'error' ? 'alert' : 'status'}"
    data-testid="notice"
  >
    ${flash.message}
  </div>`;
}

/**
 * The whole document. Scripts and styles come from `/static/` (the CSP allows nothing inline),
 * and nothing is loaded from outside the console: no CDN, no web font.
 */
export function page(options: PageOptions, body: SafeHtml): SafeHtml {
  const { viewer, live } = options;
  const crumbs = options.breadcrumbs ?? [];
  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · CRDR console · ${options.region}</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body${live ? markup` data-live-view="${live.view}" data-live-broker="${live.brokerId ?? ''}"` : markup``}>
<header class="topbar">
  <a class="brand" href="/brokers">CRDR console</a>
  <span class="region" data-testid="region">Region ${options.region}</span>
  ${live ? markup`<span id="live-status" class="live-status" data-testid="live-status">connecting…</span>` : markup``}
  ${
    viewer
      ? markup`<nav class="topnav">
            <a href="/brokers">Brokers</a><a href="/brokers/new">Create broker</a
            ><a href="/brokers/new-replica">Create replica broker</a>
          </nav>
          <form class="signout" method="post" action="/logout">
            ${csrfField(viewer)}<span class="user" data-testid="user">${viewer.username}</span>
            <button type="submit" class="link">Sign out</button>
          </form>`
      : markup``
  }
</header>
<main>
${
  crumbs.length > 0
    ? markup`<nav class="crumbs">
        ${crumbs.map((crumb, index) =>
          crumb.href
            ? markup`${index > 0 ? markup` › ` : markup``}<a href="${crumb.href}">${crumb.label}</a>`
            : markup`${index > 0 ? markup` › ` : markup``}<span>${crumb.label}</span>`,
        )}
      </nav>`
    : markup``
}
<h1>${options.title}</h1>
${notice(options.flash)}
${body}
</main>
</body>
</html>
`;
}
