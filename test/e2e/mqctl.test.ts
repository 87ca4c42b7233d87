import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '../support/control-plane.js';
import { runMqctl, type MqctlResult } from '../../packages/mqctl/src/mqctl-process.test-helper.js';

/*
 * mqctl as a real process against a real control plane (`pnpm control-plane`, local
 * provisioner, real broker processes): the endpoint comes from a .stack/endpoints.json, as after
 * `pnpm stack up`; the output is the AWS-shaped JSON (stdout is a pipe) or, asked for, a table.
 */

let controlPlane: RunningControlPlane;
let workDir: string;
let brokerId: string;

beforeAll(async () => {
  controlPlane = await startControlPlane({ region: 'region-a', port: 0 });
  workDir = mkdtempSync(join(tmpdir(), 'mqctl-cp-'));
  mkdirSync(join(workDir, '.stack'));
  writeFileSync(
    join(workDir, '.stack', 'endpoints.json'),
    JSON.stringify({ regions: { 'region-a': { controlPlane: controlPlane.address } } }),
  );
}, 120_000);

afterAll(async () => {
  await controlPlane?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
}, 120_000);

function mqctl(...args: string[]): Promise<MqctlResult> {
  return runMqctl(args, { cwd: workDir });
}

/** A successful command's JSON output. */
function json(result: MqctlResult): Record<string, unknown> {
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('mqctl against the control plane', () => {
  it('creates a broker and describes it with the AWS field names', async () => {
    const created = json(
      await mqctl(
        'create-broker',
        '--broker-name',
        'orders',
        '--engine-type',
        'ACTIVEMQ',
        '--engine-version',
        '5.18.4',
        '--host-instance-type',
        'mq.m5.large',
        '--deployment-mode',
        'SINGLE_INSTANCE',
        '--users',
        'Username=admin,Password=admin-secret-1,ConsoleAccess=true',
      ),
    );
    expect(Object.keys(created)).toEqual(['BrokerId', 'BrokerArn']);
    brokerId = created['BrokerId'] as string;
    expect(created['BrokerArn']).toBe(`arn:mq:region-a:local:broker:orders:${brokerId}`);

    await controlPlane.waitForBroker(brokerId, (b) => b.brokerState === 'RUNNING', 'RUNNING');
    const described = json(await mqctl('describe-broker', '--broker-id', brokerId));
    expect(described).toMatchObject({
      BrokerId: brokerId,
      BrokerName: 'orders',
      BrokerState: 'RUNNING',
      DeploymentMode: 'SINGLE_INSTANCE',
      EngineType: 'ACTIVEMQ',
      EngineVersion: '5.18.4',
      HostInstanceType: 'mq.m5.large',
      Users: [{ Username: 'admin' }],
    });
    expect(typeof described['Created']).toBe('string');
    const instances = described['BrokerInstances'] as { Endpoints: string[] }[];
    expect(instances).toHaveLength(1);
    expect(instances[0]!.Endpoints.map((endpoint) => endpoint.split(':')[0]).sort()).toEqual([
      'grpc',
      'stomp',
      'ws',
    ]);
    // Nothing in the output is a proto default that aws would leave out.
    expect(JSON.stringify(described)).not.toMatch(/"[A-Za-z]+": ""/);
  }, 180_000);

  it('lists the brokers, as JSON and as a table', async () => {
    const listed = json(await mqctl('list-brokers'));
    expect(listed['BrokerSummaries']).toEqual([
      expect.objectContaining({ BrokerId: brokerId, BrokerName: 'orders', BrokerState: 'RUNNING' }),
    ]);
    const table = await mqctl('list-brokers', '--output', 'table');
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toBe('BrokerSummaries (1)');
    expect(lines[1]).toMatch(/^ {2}BrokerId +BrokerName +BrokerState/);
    expect(lines[3]).toContain(brokerId);
  }, 180_000);

  it('manages users as aws mq does', async () => {
    expect(
      json(
        await mqctl(
          'create-user',
          '--broker-id',
          brokerId,
          '--username',
          'app',
          '--password',
          'app-secret-12',
          '--groups',
          'producers',
          'consumers',
        ),
      ),
    ).toEqual({});
    expect(
      json(await mqctl('describe-user', '--broker-id', brokerId, '--username', 'app')),
    ).toEqual({
      BrokerId: brokerId,
      Username: 'app',
      ConsoleAccess: false,
      Groups: ['producers', 'consumers'],
      ReplicationUser: false,
    });
    json(
      await mqctl('update-user', '--broker-id', brokerId, '--username', 'app', '--console-access'),
    );
    expect(
      json(await mqctl('describe-user', '--broker-id', brokerId, '--username', 'app'))[
        'ConsoleAccess'
      ],
    ).toBe(true);
    const users = json(await mqctl('list-users', '--broker-id', brokerId));
    expect(users['BrokerId']).toBe(brokerId);
    expect((users['Users'] as { Username: string }[]).map((user) => user.Username).sort()).toEqual([
      'admin',
      'app',
    ]);
    json(await mqctl('delete-user', '--broker-id', brokerId, '--username', 'app'));
    const gone = await mqctl('describe-user', '--broker-id', brokerId, '--username', 'app');
    expect(gone.exitCode).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({ Error: { Code: 'NotFound' } });
  }, 120_000);

  it("reports the server's errors: an unknown broker, a refused change", async () => {
    const unknown = await mqctl('describe-broker', '--broker-id', 'b-does-not-exist');
    expect(unknown.exitCode).toBe(1);
    const error = (JSON.parse(unknown.stdout) as { Error: { Code: string; Message: string } })
      .Error;
    expect(error.Code).toBe('NotFound');
    expect(error.Message).toContain('b-does-not-exist');
    expect(unknown.stderr).toBe(`mqctl: ${error.Message}\n`);

    const unpaired = await mqctl(
      'update-broker',
      '--broker-id',
      brokerId,
      '--data-replication-mode',
      'CRDR',
    );
    expect(unpaired.exitCode).toBe(1);
    expect(JSON.parse(unpaired.stdout)).toMatchObject({ Error: { Code: 'BadRequest' } });
    expect(unpaired.stderr).toMatch(/^mqctl: .*not paired/);
  }, 180_000);

  it('deletes the broker', async () => {
    expect(json(await mqctl('delete-broker', '--broker-id', brokerId))).toEqual({
      BrokerId: brokerId,
    });
  }, 180_000);
});
