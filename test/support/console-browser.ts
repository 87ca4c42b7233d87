import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@crdr/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// Headless Chromium for the console's browser tests: Debian's `chromium` package (installed by
// scripts/ensure-chromium.sh), driven by playwright-core, with a fresh profile per run. Flags:
// root needs --no-sandbox; the rest keep it from reaching the network on its own.

export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ConsoleBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests the page made outside `allowedOrigins` (must stay empty: no CDN, no font). */
  readonly externalRequests: string[];
  /** Errors the page's script threw, and console errors. */
  readonly pageErrors: string[];
  /** Every dialog the page opened, as `type: message` (an `alert` would mean injected script). */
  readonly dialogs: string[];
  /** Saves a full-page screenshot (of `page` unless another is given) as test-results/console/NAME.png. */
  screenshot(name: string, of?: Page): Promise<string>;
  close(): Promise<void>;
}

export async function launchConsoleBrowser(
  allowedOrigins: readonly string[],
): Promise<ConsoleBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: run scripts/ensure-chromium.sh (apt-get install chromium)`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'crdr-chromium-'));
  // A fresh profile (playwright passes it as --user-data-dir) and a laptop screen.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1366, height: 768 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const externalRequests: string[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  const watch = (watched: Page): void => {
    watched.on('request', (request) => {
      const url = request.url();
      if (url.startsWith('data:')) return;
      if (!allowedOrigins.some((origin) => url.startsWith(origin))) externalRequests.push(url);
    });
    watched.on('pageerror', (error) => pageErrors.push(error.message));
    watched.on('console', (message) => {
      // An HTTP error status is how the console answers a refused form: not a script error.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageErrors.push(message.text());
    });
    // Destructive buttons ask first (window.confirm): the tests answer yes.
    watched.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.accept();
    });
  };
  watch(page);
  context.on('page', watch);
  const shots = join(repoRoot, 'test-results', 'console');
  await mkdir(shots, { recursive: true });
  return {
    context,
    page,
    externalRequests,
    pageErrors,
    dialogs,
    async screenshot(name, of = page) {
      const path = join(shots, `${name}.png`);
      await of.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
