import { createConsoleServer, type ConsoleServer } from '@crdr/console';
import { createTestPki, freePort, type TestPki } from '@crdr/testing';
import { startControlPlane, type RunningControlPlane } from './control-plane.js';
import { controlPlaneNatsEnv, startRegionNatsServers } from './region-nats.js';

// Two Regions for the console's browser walkthrough: per Region a TLS nats-server with a relay
// user and a read-only replication user, a control plane (local provisioner: real brokers and
// replicators), and the web console in this process, signed in with a bootstrap admin.

export interface ConsoleRegion {
  readonly name: string;
  readonly controlPlane: RunningControlPlane;
  readonly console: ConsoleServer;
  readonly url: string;
}

export interface ConsoleRegions {
  readonly a: ConsoleRegion;
  readonly b: ConsoleRegion;
  readonly bootstrap: { readonly username: string; readonly password: string };
  stop(): Promise<void>;
}

export async function startConsoleRegions(): Promise<ConsoleRegions> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  const bootstrap = { username: 'operator', password: 'operator-password-1' };
  try {
    const pki: TestPki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    const nats = await startRegionNatsServers(pki);
    for (const server of nats) cleanups.push(() => server.cleanup());
    const [portA, portB] = [await freePort(), await freePort()];
    const controlPlanes = await Promise.allSettled([
      startControlPlane({
        region: 'region-a',
        port: portA,
        peers: { 'region-b': `127.0.0.1:${portB}` },
        env: controlPlaneNatsEnv('a', nats[0], pki),
      }),
      startControlPlane({
        region: 'region-b',
        port: portB,
        peers: { 'region-a': `127.0.0.1:${portA}` },
        env: controlPlaneNatsEnv('b', nats[1], pki),
      }),
    ]);
    for (const started of controlPlanes) {
      if (started.status === 'fulfilled') cleanups.push(() => started.value.stop());
    }
    for (const started of controlPlanes) if (started.status === 'rejected') throw started.reason;
    const [cpA, cpB] = controlPlanes.map(
      (started) => (started as PromiseFulfilledResult<RunningControlPlane>).value,
    ) as [RunningControlPlane, RunningControlPlane];

    // Ports first, so that each console can link to the other Region's.
    const urls = {
      'region-a': `http://127.0.0.1:${await freePort()}`,
      'region-b': `http://127.0.0.1:${await freePort()}`,
    };
    const region = async (name: 'region-a' | 'region-b', controlPlane: RunningControlPlane) => {
      const server = createConsoleServer({
        region: name,
        controlPlaneAddress: controlPlane.address,
        port: Number(new URL(urls[name]).port),
        bootstrapAdmin: bootstrap,
        refreshIntervalMs: 500,
        deadlineMs: 120_000,
        peerConsoleUrls: Object.fromEntries(Object.entries(urls).filter(([r]) => r !== name)),
      });
      const { url } = await server.start();
      cleanups.push(() => server.stop());
      return { name, controlPlane, console: server, url };
    };
    return {
      a: await region('region-a', cpA),
      b: await region('region-b', cpB),
      bootstrap,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
