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
    expect(gone.exitCode).toBe(254);
    expect(JSON.parse(gone.stdout)).toMatchObject({ Error: { Code: 'NotFoundException' } });
  }, 120_000);

  it("reports the server's errors: an unknown broker, a refused change", async () => {
    const unknown = await mqctl('describe-broker', '--broker-id', 'b-does-not-exist');
    expect(unknown.exitCode).toBe(254);
    const error = (JSON.parse(unknown.stdout) as { Error: { Code: string; Message: string } })
      .Error;
    expect(error.Code).toBe('NotFoundException');
    expect(error.Message).toContain('b-does-not-exist');
    expect(unknown.stderr).toBe(`mqctl: ${error.Message}\n`);

    const unpaired = await mqctl(
      'update-broker',
      '--broker-id',
      brokerId,
      '--data-replication-mode',
      'CRDR',
    );
    expect(unpaired.exitCode).toBe(254);
    expect(JSON.parse(unpaired.stdout)).toMatchObject({ Error: { Code: 'BadRequestException' } });
    expect(unpaired.stderr).toMatch(/^mqctl: .*not paired/);

    // A replica of a primary that is not there: the message names the AWS field, not the proto's.
    const badReplica = await mqctl(
      'create-broker',
      '--broker-name',
      'orphan',
      '--engine-type',
      'ACTIVEMQ',
      '--engine-version',
      '5.18.4',
      '--host-instance-type',
      'mq.m5.large',
      '--deployment-mode',
      'SINGLE_INSTANCE',
      '--users',
      'Username=admin,Password=admin-secret-1',
      'Username=repl,Password=repl-secret-12,ReplicationUser=true',
      '--data-replication-mode',
      'CRDR',
      '--data-replication-primary-broker-arn',
      'arn:mq:region-a:local:broker:nothing:b-none',
    );
    expect(badReplica.exitCode).toBe(254);
    expect(badReplica.stderr).not.toMatch(/[a-z]+_[a-z]+_/);
    expect(badReplica.stderr).toContain('DataReplicationPrimaryBrokerArn');

    // Usage errors: 252, before any call.
    const badQuery = await mqctl('list-brokers', '--query', 'BrokerSummaries[');
    expect(badQuery.exitCode).toBe(252);
    expect(JSON.parse(badQuery.stdout)).toMatchObject({ Error: { Code: 'BadRequestException' } });
  }, 120_000);

  it('answers --query with --output json, text and yaml, as aws does', async () => {
    const ids = await mqctl('list-brokers', '--query', 'BrokerSummaries[].BrokerId');
    expect(json(ids)).toEqual([brokerId]);
    const text = await mqctl(
      'list-brokers',
      '--query',
      'BrokerSummaries[].[BrokerName, BrokerState]',
      '--output',
      'text',
    );
    expect(text.stdout).toBe('orders\tRUNNING\n');
    const yaml = await mqctl(
      'list-brokers',
      '--query',
      'BrokerSummaries[0].BrokerName',
      '--output',
      'yaml',
    );
    expect(yaml.stdout).toBe('orders\n');
  }, 180_000);

  it('scripts as aws mq: create --wait with the aws flags, text output, reboot --wait', async () => {
    const created = await mqctl(
      'create-broker',
      '--broker-name',
      'scripted',
      '--engine-type',
      'ACTIVEMQ',
      '--engine-version',
      '5.18.4',
      '--host-instance-type',
      'mq.t3.micro',
      '--deployment-mode',
      'SINGLE_INSTANCE',
      '--no-publicly-accessible',
      '--auto-minor-version-upgrade',
      '--tags',
      'team=payments,env=test',
      '--security-groups',
      'sg-1',
      '--subnet-ids',
      'subnet-1',
      'subnet-2',
      '--storage-type',
      'EFS',
      '--logs',
      'General=true,Audit=false',
      '--encryption-options',
      'UseAwsOwnedKey=true',
      '--maintenance-window-start-time',
      'DayOfWeek=SUNDAY,TimeOfDay=03:00,TimeZone=UTC',
      '--authentication-strategy',
      'SIMPLE',
      '--configuration',
      'Id=c-1,Revision=1',
      '--creator-request-id',
      `scripted-${Date.now()}`,
      '--users',
      'Username=admin,Password=admin-secret-1',
      '--wait',
      '--query',
      '[BrokerId, BrokerState]',
      '--output',
      'text',
    );
    expect(created.exitCode).toBe(0);
    // Progress goes to stderr, the answer alone to stdout.
    expect(created.stderr).toContain('waiting up to');
    const [scriptedId, state] = created.stdout.trim().split('\t');
    expect(state).toBe('RUNNING');

    const text = await mqctl('list-brokers', '--output', 'text');
    expect(text.exitCode).toBe(0);
    const line = text.stdout.split('\n').find((row) => row.includes(scriptedId!));
    // BrokerArn, BrokerId, BrokerName, BrokerState, ...: aws's sorted columns.
    expect(line?.split('\t').slice(0, 5)).toEqual([
      'BROKERSUMMARIES',
      `arn:mq:region-a:local:broker:scripted:${scriptedId}`,
      scriptedId,
      'scripted',
      'RUNNING',
    ]);

    const yaml = await mqctl(
      'describe-broker',
      '--broker-id',
      scriptedId!,
      '--output',
      'yaml',
      '--query',
      '{Id: BrokerId, Users: Users[].Username}',
    );
    expect(yaml.stdout).toBe(`Id: ${scriptedId}\nUsers:\n  - admin\n`);

    const rebooted = await mqctl(
      'reboot-broker',
      '--broker-id',
      scriptedId!,
      '--wait',
      '--query',
      'BrokerState',
      '--output',
      'text',
    );
    expect(rebooted.exitCode).toBe(0);
    expect(rebooted.stdout).toBe('RUNNING\n');
    expect(rebooted.stderr).toContain('the reboot of');

    const updated = await mqctl(
      'update-broker',
      '--broker-id',
      scriptedId!,
      '--wait',
      '--query',
      'BrokerId',
      '--output',
      'text',
    );
    expect(updated.stdout).toBe(`${scriptedId}\n`);

    expect(json(await mqctl('delete-broker', '--broker-id', scriptedId!))).toEqual({
      BrokerId: scriptedId,
    });
  }, 300_000);

  it('takes --cli-input-json and prints the skeleton', async () => {
    const skeleton = json(await mqctl('describe-broker', '--generate-cli-skeleton'));
    expect(skeleton).toEqual({ BrokerId: '' });
    const described = json(
      await mqctl(
        'describe-broker',
        '--cli-input-json',
        JSON.stringify({ BrokerId: brokerId }),
        '--query',
        '{BrokerName: BrokerName}',
      ),
    );
    expect(described).toEqual({ BrokerName: 'orders' });
  }, 180_000);

  it('deletes the broker', async () => {
    expect(json(await mqctl('delete-broker', '--broker-id', brokerId))).toEqual({
      BrokerId: brokerId,
    });
  }, 180_000);
});
