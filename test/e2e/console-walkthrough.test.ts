import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchConsoleBrowser, type ConsoleBrowser } from '../support/console-browser.js';
import { startConsoleRegions, type ConsoleRegions } from '../support/console-regions.js';

// The seed's walkthrough (shared/seed), entirely through the two Regions' web consoles in a
// real headless Chromium: create the primary in region-a, its replica in region-b, reboot the
// primary to start replication, create TestQueue and Send To 10 messages with a body, browse
// them; then promote the replica (Switchover, typing `confirm`; a wrong word keeps the button
// disabled), watch the saga's steps, and read the 10 messages on the promoted broker.

const adminUser = { username: 'admin', password: 'admin-password-1' };
const replicationUser = { username: 'repl-user', password: 'repl-password-1' };
const body = 'test message';
const longWait = { timeout: 150_000 };

let regions: ConsoleRegions;
let ui: ConsoleBrowser;
let pageA: Page;
let pageB: Page;
let primaryId = '';
let replicaId = '';

async function signIn(page: Page, url: string, username: string, password: string) {
  await page.goto(`${url}/login`);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('[data-testid=login-submit]');
  await page.waitForURL(/\/brokers$/);
}

async function signOut(page: Page) {
  await page.click('text=Sign out');
  await page.waitForURL(/\/login/);
}

async function notice(page: Page): Promise<string> {
  return (await page.locator('[data-testid=notice]').first().innerText()).trim();
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).trim();
}

/** Fills the broker fields of a create form, defaults as the seed's (5.18.4, m5.large, active/standby). */
async function fillBrokerForm(page: Page, name: string) {
  await page.fill('#f-brokerName', name);
  await page.selectOption('#f-hostInstanceType', 'mq.m5.large');
  await page.fill('#f-engineVersion', '5.18.4');
}

describe('the seed walkthrough in the web consoles', { timeout: 600_000 }, () => {
  beforeAll(async () => {
    regions = await startConsoleRegions();
    ui = await launchConsoleBrowser([regions.a.url, regions.b.url]);
    pageA = ui.page;
    pageB = await ui.context.newPage();
  });

  afterAll(async () => {
    await ui?.close();
    await regions?.stop();
  });

  it('creates the pair, replicates 10 messages sent with Send To, and shows them', async () => {
    const { a, b, bootstrap } = regions;

    // region-a: the primary broker, created by the Region's bootstrap administrator.
    await signIn(pageA, a.url, bootstrap.username, bootstrap.password);
    await pageA.click('.actions >> text=Create broker');
    await fillBrokerForm(pageA, 'Primarybroker');
    await pageA.selectOption('#f-deploymentMode', 'ACTIVE_STANDBY_MULTI_AZ');
    await pageA.fill('#f-consoleUsername', adminUser.username);
    await pageA.fill('#f-consolePassword', adminUser.password);
    await pageA.fill('#f-replicationUsername', replicationUser.username);
    await pageA.fill('#f-replicationPassword', replicationUser.password);
    await pageA.click('[data-testid=create-broker-submit]');
    await pageA.waitForURL(/\/brokers\/b-/);
    primaryId = await text(pageA, '[data-testid=broker-id]');
    const primaryArn = await text(pageA, '[data-testid=broker-arn]');
    // The API first (its failure shows the control plane's log), then the page, live.
    await a.controlPlane.waitForBroker(
      primaryId,
      (d) => d.brokerState === 'RUNNING',
      'RUNNING',
      240_000,
    );
    await pageA
      .locator('#replication-panel [data-testid=broker-state]', { hasText: 'RUNNING' })
      .waitFor(longWait);
    await ui.screenshot('walkthrough-01-primary', pageA);

    // region-b: the replica, from the primary's page ("Create replica in region-b" opens
    // region-b's console with the primary's ARN filled in).
    await signIn(pageB, b.url, bootstrap.username, bootstrap.password);
    const createReplica = await pageA
      .locator('a', { hasText: 'Create replica in region-b' })
      .getAttribute('href');
    expect(createReplica?.startsWith(`${b.url}/brokers/new-replica?`)).toBe(true);
    await pageB.goto(createReplica!);
    expect(await pageB.inputValue('#f-primaryBrokerArn')).toBe(primaryArn);
    await fillBrokerForm(pageB, 'Secondarybroker');
    await pageB.fill('#f-replicationUsername', replicationUser.username);
    await pageB.fill('#f-replicationPassword', replicationUser.password);
    await ui.screenshot('walkthrough-02-create-replica', pageB);
    await pageB.click('[data-testid=create-replica-submit]');
    await pageB.waitForURL(/\/brokers\/b-/);
    expect(await notice(pageB)).toContain('Reboot the primary broker to start replication');
    replicaId = await text(pageB, '[data-testid=broker-id]');
    await b.controlPlane.waitForBroker(
      replicaId,
      (d) => d.brokerState === 'REPLICA',
      'REPLICA',
      240_000,
    );
    await pageB
      .locator('#replication-panel [data-testid=broker-state]', { hasText: 'REPLICA' })
      .waitFor(longWait);
    expect(await text(pageB, '#replication-panel [data-testid=replication-role]')).toBe('REPLICA');
    expect(await text(pageB, '#replication-panel [data-testid=counterpart]')).toBe(
      `${primaryId} in region-a`,
    );

    // region-a: the primary shows the pending mode; its reboot starts replication.
    await pageA.reload();
    await pageA
      .locator('#replication-panel [data-testid=pending-replication-mode]', { hasText: 'CRDR' })
      .waitFor(longWait);
    await pageA.click('[data-testid=reboot-button]');
    await pageA.waitForLoadState('domcontentloaded');
    expect(await notice(pageA)).toBe('Reboot requested.');
    await a.controlPlane.waitForBroker(
      primaryId,
      (d) =>
        d.brokerState === 'RUNNING' &&
        d.dataReplicationMetadata?.replicationStatus === 'REPLICATING',
      'RUNNING and REPLICATING',
      240_000,
    );
    await pageA
      .locator('#replication-panel [data-testid=replication-status]', { hasText: 'REPLICATING' })
      .waitFor(longWait);
    await pageA
      .locator('#replication-panel [data-testid=broker-state]', { hasText: 'RUNNING' })
      .waitFor(longWait);
    expect(await text(pageA, '#replication-panel [data-testid=replication-role]')).toBe('PRIMARY');
    await pageA.locator('#replication-panel svg.sparkline').waitFor(longWait);
    await ui.screenshot('walkthrough-03-primary-replicating', pageA);

    // The brokers list of region-b: state, role, status and a lag sparkline, live.
    await pageB.goto(`${b.url}/brokers`);
    const row = pageB.locator(`[data-broker-id="${replicaId}"]`);
    await row
      .locator('[data-testid=replication-status]', { hasText: 'REPLICATING' })
      .waitFor(longWait);
    await row.locator('svg.sparkline').waitFor(longWait);
    await ui.screenshot('walkthrough-04-brokers-b', pageB);

    // The ActiveMQ console part, as the broker's console user: TestQueue, Send To ×10, browse.
    await signOut(pageA);
    await signIn(pageA, a.url, adminUser.username, adminUser.password);
    await pageA.goto(`${a.url}/brokers/${primaryId}/queues`);
    await pageA.fill('#destination-name', 'TestQueue');
    await pageA.click('[data-testid=create-destination-form] button');
    await pageA.locator('[data-destination="TestQueue"]').waitFor();
    await pageA.click('[data-destination="TestQueue"] [data-testid=send-to]');
    await pageA.fill('#send-count', '10');
    await pageA.fill('#send-body', body);
    await ui.screenshot('walkthrough-05-send-to', pageA);
    await pageA.click('[data-testid=send-submit]');
    await pageA.waitForURL(/\/queues\/TestQueue\/browse/);
    expect(await notice(pageA)).toBe('Sent 10 messages to queue TestQueue.');
    expect(await pageA.locator('[data-testid=message-body]').allInnerTexts()).toEqual(
      Array.from({ length: 10 }, () => body),
    );
    await ui.screenshot('walkthrough-06-browse-primary', pageA);
  });

  it('keeps Promote disabled until confirm is typed exactly, and the server checks it too', async () => {
    expect(replicaId).not.toBe('');
    const { b } = regions;
    await pageB.goto(`${b.url}/brokers/${replicaId}`);
    const button = pageB.locator('[data-testid=promote-button]');
    const confirmBox = pageB.locator('[data-testid=promote-confirm]');
    expect(await button.isDisabled()).toBe(true);
    for (const wrong of ['Confirm', 'confirm ', 'confirmed', 'conf']) {
      await confirmBox.fill(wrong);
      expect(await button.isDisabled()).toBe(true);
    }
    await ui.screenshot('walkthrough-07-promote-wrong-word', pageB);

    // Forced past the disabled button, a wrong word is still refused by the console.
    await confirmBox.fill('Confirm');
    await button.evaluate((element: { removeAttribute(name: string): void }) =>
      element.removeAttribute('disabled'),
    );
    await button.click();
    await pageB.waitForLoadState('domcontentloaded');
    expect(await notice(pageB)).toBe('BadRequest: type confirm in the box to promote the replica');
    expect(await text(pageB, '#replication-panel [data-testid=replication-role]')).toBe('REPLICA');
  });

  it('promotes the replica with a switchover and shows the 10 messages on it', async () => {
    expect(replicaId).not.toBe('');
    const { b } = regions;
    await pageB.goto(`${b.url}/brokers/${replicaId}`);
    const button = pageB.locator('[data-testid=promote-button]');
    const confirmBox = pageB.locator('[data-testid=promote-confirm]');
    await pageB.check('input[name=mode][value=SWITCHOVER]');
    await confirmBox.fill('confirm');
    expect(await button.isEnabled()).toBe(true);
    await ui.screenshot('walkthrough-08-promote-confirm', pageB);
    await button.click();
    await pageB.waitForLoadState('domcontentloaded');
    expect(await notice(pageB)).toContain('Switchover started');

    // The saga's steps appear on the page as they happen, until the replica is the primary.
    await pageB.locator('[data-testid=promotion-steps] li').first().waitFor(longWait);
    await pageB
      .locator('#replication-panel [data-testid=replication-role]', { hasText: 'PRIMARY' })
      .waitFor(longWait);
    await pageB
      .locator('#replication-panel [data-testid=broker-state]', { hasText: 'RUNNING' })
      .waitFor(longWait);
    // ...and until the saga has ended (its last step, then no promotion running).
    await pageB.locator('[data-testid=promotion-steps] li', { hasText: 'ENDED' }).waitFor(longWait);
    await ui.screenshot('walkthrough-09-promoted', pageB);
    const steps = await pageB.locator('[data-testid=promotion-steps] li').allInnerTexts();
    expect(steps.length).toBeGreaterThan(1);

    // The new primary holds the 10 messages: read by the console user copied from the primary.
    await signOut(pageB);
    await signIn(pageB, b.url, adminUser.username, adminUser.password);
    await pageB.goto(`${b.url}/brokers/${replicaId}/queues/TestQueue/browse`);
    expect(await pageB.locator('[data-testid=message-body]').allInnerTexts()).toEqual(
      Array.from({ length: 10 }, () => body),
    );
    await ui.screenshot('walkthrough-10-browse-promoted', pageB);

    expect(ui.externalRequests).toEqual([]);
    expect(ui.pageErrors).toEqual([]);
    expect(ui.dialogs.filter((d) => !d.startsWith('confirm:'))).toEqual([]);
  });
});
