import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer, type ConsoleServer } from '@crdr/console';
import { launchConsoleBrowser, type ConsoleBrowser } from '../support/console-browser.js';
import { startControlPlane, type RunningControlPlane } from '../support/control-plane.js';

// Issue 7 in a real headless Chromium against a real control plane (which starts real broker
// processes): sign-in, the create-broker form with the API's own error, live state without
// reload, queues and topics, Send To, browsing, purge and delete, consumers and users, with
// every value escaped and no request leaving the console. Screenshots: test-results/console/.

const bootstrap = { username: 'operator', password: 'operator-password-1' };
const consoleUser = { username: 'app-user', password: 'app-password-1' };
const hostile = `<img src=x onerror=alert(1)>"'`;

const guessesBeforeRefusal = 4;

let controlPlane: RunningControlPlane;
let consoleServer: ConsoleServer;
let consoleUrl: string;
let ui: ConsoleBrowser;

async function signIn(username: string, password: string): Promise<void> {
  const { page } = ui;
  await page.goto(`${consoleUrl}/login`);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('[data-testid=login-submit]');
  await page.waitForLoadState('domcontentloaded');
}

async function noticeText(): Promise<string> {
  return (await ui.page.locator('[data-testid=notice]').first().innerText()).trim();
}

describe('console pages in a browser', () => {
  beforeAll(async () => {
    controlPlane = await startControlPlane({ region: 'region-a', port: 0 });
    consoleServer = createConsoleServer({
      region: 'region-a',
      controlPlaneAddress: controlPlane.address,
      bootstrapAdmin: `${bootstrap.username}:${bootstrap.password}`,
      loginThrottle: { lockoutFailures: guessesBeforeRefusal },
      refreshIntervalMs: 500,
      deadlineMs: 120_000,
    });
    consoleUrl = (await consoleServer.start()).url;
    ui = await launchConsoleBrowser([consoleUrl]);
  });

  afterAll(async () => {
    await ui?.close();
    await consoleServer?.stop();
    await controlPlane?.stop();
  });

  it('signs in, creates a broker and manages its queues and topics', async () => {
    const { page } = ui;

    // Signed out: every page leads to the sign-in form; a wrong password is refused.
    await page.goto(`${consoleUrl}/brokers`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await ui.screenshot('01-login');
    await signIn(bootstrap.username, 'wrong-password-1');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await noticeText()).toContain('Wrong username or password');
    const cookies = await ui.context.cookies();
    expect(cookies.find((c) => c.name === 'crdr_console_session_region-a')).toBeUndefined();

    // Guessing at one user from one address ends in a refusal, even of the right password; the
    // other users of the address (the operator, below) are not refused.
    for (let i = 0; i < guessesBeforeRefusal; i++) await signIn('mallory', `guess-${i}`);
    await signIn('mallory', 'any-password-1');
    expect(await noticeText()).toMatch(
      /^Too many failed sign-ins from this address; try again in \d+ s\.$/,
    );

    await signIn(bootstrap.username, bootstrap.password);
    expect(new URL(page.url()).pathname).toBe('/brokers');
    const session = (await ui.context.cookies()).find(
      (c) => c.name === 'crdr_console_session_region-a',
    );
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.locator('[data-testid=no-brokers]').waitFor();
    await ui.screenshot('02-brokers-empty');

    // The create form shows the API's error as given, and keeps what was typed but passwords.
    await page.click('text=Create broker >> nth=0');
    await page.fill('#f-brokerName', 'console-pages');
    await page.selectOption('#f-deploymentMode', 'SINGLE_INSTANCE');
    await page.fill('#f-consoleUsername', consoleUser.username);
    await page.fill('#f-consolePassword', 'short');
    await page.click('[data-testid=create-broker-submit]');
    expect(await noticeText()).toMatch(/^BadRequest: .*password.*at least 12 characters/);
    expect(await page.inputValue('#f-brokerName')).toBe('console-pages');
    expect(await page.inputValue('#f-consolePassword')).toBe('');
    await ui.screenshot('03-create-broker-error');

    await page.fill('#f-consolePassword', consoleUser.password);
    await page.click('[data-testid=create-broker-submit]');
    await page.waitForURL(/\/brokers\/b-/);
    expect(await noticeText()).toContain('is being created');
    const brokerId = (await page.locator('[data-testid=broker-id]').textContent())!.trim();
    // The state turns RUNNING on the open page, through SSE, without a reload.
    await page
      .locator('#replication-panel [data-testid=broker-state]', { hasText: 'RUNNING' })
      .waitFor({ timeout: 120_000 });
    await page.locator('#connections', { hasText: 'grpc://' }).waitFor();
    await ui.screenshot('04-broker');

    // A broker user with console access can sign in; the bootstrap admin's session ends.
    await page.click('text=Sign out');
    await page.waitForURL(/\/login/);
    await signIn(consoleUser.username, consoleUser.password);
    expect(new URL(page.url()).pathname).toBe('/brokers');
    await page.locator(`[data-broker-id="${brokerId}"]`).waitFor();
    await ui.screenshot('05-brokers');

    // Queues: create (a hostile name is refused or shown as text, never run), Send To, browse.
    await page.goto(`${consoleUrl}/brokers/${brokerId}/queues`);
    await page.fill('#destination-name', hostile);
    await page.click('[data-testid=create-destination-form] button');
    await page.waitForLoadState('domcontentloaded');
    await page.fill('#destination-name', 'TestQueue');
    await page.click('[data-testid=create-destination-form] button');
    await page.locator('[data-destination="TestQueue"]').waitFor();
    expect(await noticeText()).toContain('Created queue TestQueue');
    await ui.screenshot('06-queues');

    await page.click('[data-destination="TestQueue"] [data-testid=send-to]');
    await page.fill('#send-count', '3');
    await page.fill('#send-headers', 'color: blue');
    await page.fill('#send-body', `hello ${hostile}`);
    await ui.screenshot('07-send-to');
    await page.click('[data-testid=send-submit]');
    await page.waitForURL(/\/queues\/TestQueue\/browse/);
    expect(await noticeText()).toBe('Sent 3 messages to queue TestQueue.');
    expect(await page.locator('[data-testid=message-body]').allTextContents()).toEqual([
      `hello ${hostile}`,
      `hello ${hostile}`,
      `hello ${hostile}`,
    ]);
    expect(await page.locator('[data-testid=messages]').textContent()).toContain('color: blue');
    expect(await page.locator('[data-testid=messages] img').count()).toBe(0);
    await ui.screenshot('08-browse');

    // A bad Send To is refused with the field named, and the form keeps the body.
    await page.goto(`${consoleUrl}/brokers/${brokerId}/send?type=queue&name=TestQueue`);
    await page.fill('#send-count', '0');
    await page.fill('#send-body', 'kept');
    // Past the browser's own check (min=1), to see the console's.
    await page
      .locator('#send-count')
      .evaluate((input: { removeAttribute(name: string): void }) => input.removeAttribute('min'));
    await page.click('[data-testid=send-submit]');
    expect(await noticeText()).toContain('BadRequest: number of messages');
    expect(await page.inputValue('#send-body')).toBe('kept');

    await page.goto(`${consoleUrl}/brokers/${brokerId}/queues`);
    expect(
      (
        await page.locator('[data-destination="TestQueue"] [data-testid=queue-size]').innerText()
      ).trim(),
    ).toBe('3');
    await page.click('[data-destination="TestQueue"] button:has-text("Purge")');
    await page.waitForLoadState('domcontentloaded');
    expect(await noticeText()).toBe('Purged 3 messages from queue TestQueue.');
    await page.click('[data-destination="TestQueue"] button:has-text("Delete")');
    await page.waitForLoadState('domcontentloaded');
    expect(await noticeText()).toBe('Deleted queue TestQueue.');
    expect(await page.locator('[data-destination="TestQueue"]').count()).toBe(0);

    // Topics, consumers, users.
    await page.goto(`${consoleUrl}/brokers/${brokerId}/topics`);
    await page.fill('#destination-name', 'news');
    await page.click('[data-testid=create-destination-form] button');
    await page.locator('[data-destination="news"]').waitFor();
    await ui.screenshot('09-topics');
    await page.goto(`${consoleUrl}/brokers/${brokerId}/consumers`);
    await page.locator('[data-testid=stats]').waitFor();
    await ui.screenshot('10-consumers');
    await page.goto(`${consoleUrl}/brokers/${brokerId}/users`);
    await page.locator(`[data-username="${consoleUser.username}"]`).waitFor();
    await ui.screenshot('11-users');

    // A console user of one broker may not act on another broker of the Region through the
    // control plane (reboot, delete, promote, users): the action is refused and nothing happens.
    const other = await controlPlane.client.createBroker({
      brokerName: 'payroll',
      engineType: 'ACTIVEMQ',
      engineVersion: '5.18.4',
      hostInstanceType: 'mq.m5.large',
      deploymentMode: 'SINGLE_INSTANCE',
      users: [{ username: 'payroll-admin', password: 'payroll-password-1', consoleAccess: true }],
    });
    await page.goto(`${consoleUrl}/brokers/${brokerId}`);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const refused = await page.evaluate(
      async ({ url, otherId, token }) => {
        const response = await fetch(`${url}/brokers/${otherId}/reboot`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `_csrf=${encodeURIComponent(token)}`,
        });
        // The redirect back to the broker's page is followed: the page shows the refusal.
        return { url: response.url, html: await response.text() };
      },
      { url: consoleUrl, otherId: other.brokerId, token: csrf },
    );
    expect(new URL(refused.url).pathname).toBe(`/brokers/${other.brokerId}`);
    expect(refused.html).toContain(
      `user ${consoleUser.username} has no console access to broker ${other.brokerId}: sign in as one of its console users`,
    );
    const events = await controlPlane.client.describeBroker({ brokerId: other.brokerId });
    expect(events.brokerState).not.toBe('REBOOT_IN_PROGRESS');

    // A form posted without the session's CSRF token is refused.
    const forged = await page.evaluate(async (url) => {
      const response = await fetch(`${url}/logout`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: '_csrf=forged',
      });
      return response.status;
    }, consoleUrl);
    expect(forged).toBe(403);

    expect(ui.externalRequests).toEqual([]);
    expect(ui.pageErrors).toEqual([]);
    expect(ui.dialogs.filter((d) => !d.startsWith('confirm:'))).toEqual([]);
  });
});
