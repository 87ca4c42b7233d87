import { markup, type SafeHtml } from '../html.js';
import { page, type Flash, type Viewer } from './layout.js';

export function loginPage(
  region: string,
  loginToken: string,
  options: { username?: string; next?: string; flash?: Flash } = {},
): SafeHtml {
  return page(
    { title: 'Sign in', region, flash: options.flash },
    markup`<form method="post" action="/login" class="form narrow" data-testid="login-form">
      <input type="hidden" name="_login" value="${loginToken}" />
      <input type="hidden" name="next" value="${options.next ?? '/brokers'}" />
      <p class="muted">
        Sign in with a broker user that has console access, or the Region's bootstrap administrator.
      </p>
      <div class="field">
        <label for="login-username">Username</label
        ><input
          type="text"
          id="login-username"
          name="username"
          value="${options.username ?? ''}"
          required
          autocomplete="username"
        />
      </div>
      <div class="field">
        <label for="login-password">Password</label
        ><input
          type="password"
          id="login-password"
          name="password"
          required
          autocomplete="current-password"
        />
      </div>
      <button type="submit" data-testid="login-submit">Sign in</button>
    </form>`,
  );
}

export function errorPage(
  region: string,
  title: string,
  message: string,
  viewer?: Viewer,
): SafeHtml {
  return page(
    { title, region, viewer, flash: { kind: 'error', message } },
    markup`<p><a href="/brokers">Back to the brokers</a></p>`,
  );
}
