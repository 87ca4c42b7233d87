import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackCli, testStackEnv } from '../support/stack-cli.js';

interface Endpoints {
  regions: Record<string, Record<string, string>>;
}

const portOf = (address: string) => Number(/:(\d+)$/.exec(address)![1]);

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function allPorts(endpoints: Endpoints): number[] {
  return Object.values(endpoints.regions).flatMap((region) => Object.values(region).map(portOf));
}

describe('pnpm stack', () => {
  let env: Record<string, string>;
  let first: Endpoints;

  beforeAll(async () => {
    env = await testStackEnv();
  });

  afterAll(async () => {
    await stackCli(['down', '--purge'], env);
  });

  it('brings up two Regions, prints their endpoints and writes them to endpoints.json', async () => {
    const up = await stackCli(['up'], env);
    expect(up.code, up.stderr).toBe(0);
    first = JSON.parse(up.stdout) as Endpoints;
    expect(Object.keys(first.regions)).toEqual(['region-a', 'region-b']);
    for (const region of Object.values(first.regions)) {
      expect(Object.keys(region)).toEqual(
        expect.arrayContaining(['controlPlane', 'metricsHttp', 'console', 'nats']),
      );
    }
    for (const port of allPorts(first)) expect(await listening(port), `port ${port}`).toBe(true);
    const health = await fetch(`${first.regions['region-a']!['metricsHttp']}/metrics`);
    expect(health.ok).toBe(true);
    // Each control plane serves its Region's web console.
    for (const [name, region] of Object.entries(first.regions)) {
      const login = await fetch(`${region['console']}/login`);
      expect(login.status, `${name} console`).toBe(200);
      expect(await login.text()).toContain(name);
    }
  });

  it('a second up is a no-op that prints the same endpoints', async () => {
    const before = await stackCli(['status'], env);
    const again = await stackCli(['up'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(first);
    expect(again.stderr).not.toMatch(/starting/);
    const after = await stackCli(['status'], env);
    expect(after.stdout).toBe(before.stdout);
  });

  it('down --region kills one Region at once; up --region brings it back on the same endpoints', async () => {
    const down = await stackCli(['down', '--region', 'region-a'], env);
    expect(down.code, down.stderr).toBe(0);
    const regionA = first.regions['region-a']!;
    expect(await listening(portOf(regionA['controlPlane']!))).toBe(false);
    expect(await listening(portOf(first.regions['region-b']!['controlPlane']!))).toBe(true);
    const up = await stackCli(['up', '--region', 'region-a'], env);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toEqual(first);
  });

  it('down leaves no process and no port behind', async () => {
    const down = await stackCli(['down'], env);
    expect(down.code, down.stderr).toBe(0);
    for (const port of allPorts(first)) expect(await listening(port), `port ${port}`).toBe(false);
    const status = await stackCli(['status'], env);
    expect(status.stdout).not.toMatch(/up \(pid/);
    expect(status.stdout).toMatch(/0 broker\/replicator processes/);
  });

  it('refuses an unknown verb or region with a clear message', async () => {
    const verb = await stackCli(['sideways'], env);
    expect(verb.code).toBe(2);
    expect(verb.stderr).toMatch(/unknown verb "sideways"/);
    const region = await stackCli(['up', '--region', 'region-z'], env);
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(/unknown region "region-z": use one of region-a, region-b/);
  });
});
