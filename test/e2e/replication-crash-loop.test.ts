import { readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer, type ConsoleServer } from '@crdr/console';
import { freePort, hostPort, waitFor } from '@crdr/testing';
import { launchConsoleBrowser, type ConsoleBrowser } from '../support/console-browser.js';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  createPair,
  sendAll,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegion,
  type PromotionRegions,
} from '../support/promotion-regions.js';

// Issue 11: a replicator that crash-loops is shown as such. A real fault on real processes: the
// control plane's local provisioner supervises the replicator, which keeps its gRPC port across
// restarts; the test kills it (kill -9) and takes that port, so each restart exits at once
// ("failed to start: ... address in use"). DescribeBroker, on both sides of the pair, and the
// Region's web console (headless Chromium) show STALLED with "the replicator is crash-looping:
// restarted N times, last exit ..."; once the port is free again the supervisor's next restart
// succeeds and the status goes back to REPLICATING by itself, with the states equal.

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;
let consoleServer: ConsoleServer | undefined;
let consoleUrl = '';
let ui: ConsoleBrowser | undefined;
let squatter: Server | undefined;
const operator = { username: 'operator', password: 'operator-password-1' };

const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;
const reason = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatusReason ?? '';
const crashLooping = /^The replicator is crash-looping: restarted (\d+) times?, last exit: .+\.$/;

async function replicatorEndpoint(region: PromotionRegion, brokerId: string): Promise<string> {
  let endpoint = '';
  await waitFor(
    async () => {
      const { targets } = await region.internal.listTargets({});
      endpoint = targets.find((t) => t.brokerId === brokerId)?.replicatorGrpcEndpoint ?? '';
      return endpoint !== '';
    },
    `the replicator of ${brokerId} listed`,
    60_000,
    250,
  );
  return endpoint;
}

/** The pid of the replicator the local provisioner started for `brokerId` (checked by token). */
async function replicatorPid(region: PromotionRegion, brokerId: string): Promise<number> {
  const file = join(region.stateDir, 'processes', `replicator.${brokerId}.json`);
  const names = await readdir(join(region.stateDir, 'processes'));
  if (!names.includes(`replicator.${brokerId}.json`)) throw new Error(`no record ${file}`);
  const record = JSON.parse(await readFile(file, 'utf8')) as { pid: number; token: string };
  const environ = await readFile(`/proc/${record.pid}/environ`, 'utf8').catch(() => '');
  if (!environ.includes(record.token)) throw new Error(`the replicator in ${file} does not run`);
  return record.pid;
}

async function listen(host: string, port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function waitSameDigest(): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const [p, r] = await Promise.all([regions.a.digest(primaryId), regions.b.digest(replicaId)]);
      last = { p, r };
      return p.digest === r.digest && p.sequence === r.sequence;
    },
    'equal state digests on both sides',
    60_000,
    250,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`, { cause: error });
  });
}

/** The replica's page in the console: its replication badge, its class, colour and reason. */
async function consoleStatus(): Promise<{
  text: string;
  className: string;
  background: string;
  reason: string;
}> {
  const page = ui!.page;
  await page.goto(`${consoleUrl}/brokers/${replicaId}`);
  const badge = page.locator('[data-testid=replication-status]').first();
  const reasonLocator = page.locator('[data-testid=replication-status-reason]');
  return {
    text: (await badge.innerText()).trim(),
    className: (await badge.getAttribute('class')) ?? '',
    // Runs in the page (no DOM types here): the colour the browser paints the badge with.
    background: await badge.evaluate(
      (el) =>
        (
          globalThis as unknown as {
            getComputedStyle(e: unknown): { backgroundColor: string };
          }
        ).getComputedStyle(el).backgroundColor,
    ),
    reason: (await reasonLocator.count()) > 0 ? (await reasonLocator.innerText()).trim() : '',
  };
}

beforeAll(async () => {
  regions = await startPromotionRegions('crashloop');
  ({ primaryId, replicaId } = await createPair(regions, 'crashloop'));
  consoleServer = createConsoleServer({
    region: 'region-b',
    controlPlaneAddress: regions.b.address,
    port: await freePort(),
    bootstrapAdmin: operator,
    refreshIntervalMs: 500,
    deadlineMs: 120_000,
  });
  consoleUrl = (await consoleServer.start()).url;
  ui = await launchConsoleBrowser([consoleUrl]);
  await ui.page.goto(`${consoleUrl}/login`);
  await ui.page.fill('#login-username', operator.username);
  await ui.page.fill('#login-password', operator.password);
  await ui.page.click('[data-testid=login-submit]');
  await ui.page.waitForURL(/\/brokers$/);
  await waitSameDigest();
}, 600_000);

afterAll(async () => {
  await new Promise((resolve) => (squatter === undefined ? resolve(0) : squatter.close(resolve)));
  await ui?.close();
  await consoleServer?.stop();
  await regions?.stop();
}, 120_000);

describe('a crash-looping replicator', () => {
  it('shows STALLED, saying the replicator is crash-looping, in DescribeBroker and the console; REPLICATING once it starts again', async () => {
    const listed = await replicatorEndpoint(regions.b, replicaId);
    const endpoint = hostPort(listed.includes('://') ? listed : `grpc://${listed}`);
    const pid = await replicatorPid(regions.b, replicaId);
    // The supervisor restarts it on the same port: a port taken makes each start exit.
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        try {
          squatter = await listen(endpoint.host, endpoint.port);
          return true;
        } catch {
          return false;
        }
      },
      `the replicator's port ${endpoint.port} taken`,
      30_000,
      20,
    );
    const primary = await regions.a.describe(primaryId);
    await sendAll(stompEndpoints(primary), '/queue/CrashLoop', ['c-0', 'c-1', 'c-2']);

    const stalled = await regions.b.waitForBroker(
      replicaId,
      (d) => status(d) === 'STALLED' && crashLooping.test(reason(d)),
      'STALLED: the replicator is crash-looping',
      120_000,
    );
    expect(Number(crashLooping.exec(reason(stalled))![1])).toBeGreaterThanOrEqual(2);
    expect(reason(stalled)).toMatch(/before it printed its endpoints/);
    // The primary's Region shows what the replica's says.
    await regions.a.waitForBroker(
      primaryId,
      (d) => status(d) === 'STALLED' && crashLooping.test(reason(d)),
      'STALLED on the primary too',
      60_000,
    );

    let shown = await consoleStatus();
    await waitFor(
      async () => {
        shown = await consoleStatus();
        return shown.text === 'STALLED' && /crash-looping/.test(shown.reason);
      },
      'the console shows STALLED, crash-looping',
      60_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(shown)}`, { cause: error });
    });
    // Filled in the alarm colour, unlike the outlined badges.
    expect(shown.className).toContain('badge-stalled');
    expect(shown.background).not.toBe('rgba(0, 0, 0, 0)');
    await ui!.screenshot('crash-loop-stalled');

    // The fault goes away; the supervisor's next restart succeeds, with no operator action.
    await new Promise((resolve) => squatter!.close(resolve));
    squatter = undefined;
    await regions.b.waitForBroker(
      replicaId,
      (d) => status(d) === 'REPLICATING' && reason(d) === '',
      'REPLICATING again, without a reason',
      180_000,
    );
    await regions.a.waitForBroker(
      primaryId,
      (d) => status(d) === 'REPLICATING',
      'REPLICATING again on the primary',
      60_000,
    );
    await waitSameDigest();
    await waitFor(
      async () => {
        shown = await consoleStatus();
        return shown.text === 'REPLICATING' && shown.reason === '';
      },
      'the console shows REPLICATING again',
      60_000,
      500,
    );
    expect(shown.className).not.toContain('badge-stalled');
  }, 600_000);
});
