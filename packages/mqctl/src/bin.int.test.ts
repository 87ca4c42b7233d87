import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@crdr/testing';
import { runMqctl } from './mqctl-process.test-helper.js';

/*
 * mqctl as a real process, for what needs no control plane: usage errors, exit statuses, the
 * JSON error object, endpoint resolution and the message for an endpoint nobody listens on.
 * (The verbs against a real control plane: control-plane.e2e.int.test.ts.)
 */

let workDir: string;
let stackDir: string;
let portA: number;
let portB: number;
let portOther: number;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'mqctl-'));
  stackDir = join(workDir, 'repo');
  mkdirSync(join(stackDir, '.stack'), { recursive: true });
  mkdirSync(join(stackDir, 'nested', 'deeper'), { recursive: true });
  mkdirSync(join(workDir, 'elsewhere'), { recursive: true });
  // Ports nobody listens on: each message must name the one that was chosen.
  [portA, portB, portOther] = await Promise.all([freePort(), freePort(), freePort()]);
  writeFileSync(
    join(stackDir, '.stack', 'endpoints.json'),
    JSON.stringify({
      regions: {
        'region-a': { controlPlane: `127.0.0.1:${portA}` },
        'region-b': { controlPlane: `127.0.0.1:${portB}` },
      },
    }),
  );
  writeFileSync(
    join(workDir, 'other-endpoints.json'),
    JSON.stringify({ regions: { 'region-a': { controlPlane: `127.0.0.1:${portOther}` } } }),
  );
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function errorObject(stdout: string): { Code: string; Message: string } {
  return (JSON.parse(stdout) as { Error: { Code: string; Message: string } }).Error;
}

describe('mqctl process', () => {
  it('prints help and exits 0', async () => {
    const result = await runMqctl(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('create-broker');
    expect(result.stdout).toContain('resolve-divergent-tail');
  });

  it('exits 252 on an unknown verb, listing the verbs, with the JSON error on stdout', async () => {
    const result = await runMqctl(['describe-brokr', '--broker-id', 'b', '--output', 'json']);
    expect(result.exitCode).toBe(252);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^mqctl: unknown verb "describe-brokr" \(did you mean describe-broker\?\); verbs: create-broker, describe-broker, /,
    );
    expect(errorObject(result.stdout).Code).toBe('BadRequestException');
    expect(errorObject(result.stdout).Message).toContain('unknown verb "describe-brokr"');
  });

  it('exits 252 on an unknown flag, a missing flag and a bad value', async () => {
    const unknown = await runMqctl(['reboot-broker', '--broker-id', 'b', '--force']);
    expect(unknown.exitCode).toBe(252);
    expect(unknown.stderr).toMatch(
      /^mqctl: unknown option --force for reboot-broker; reboot-broker takes --broker-id/,
    );
    const missing = await runMqctl(['promote', '--mode', 'FAILOVER']);
    expect(missing.exitCode).toBe(252);
    expect(missing.stderr).toBe('mqctl: missing required option --broker-id\n');
    // stdout is a pipe, so JSON is the default output: the error object is there too.
    expect(errorObject(missing.stdout)).toEqual({
      Code: 'BadRequestException',
      Message: 'missing required option --broker-id',
    });
    const bad = await runMqctl([
      'update-broker',
      '--broker-id',
      'b',
      '--data-replication-mode',
      'ASYNC',
    ]);
    expect(bad.exitCode).toBe(252);
    expect(bad.stderr).toBe(
      'mqctl: bad value "ASYNC" for --data-replication-mode; allowed: NONE, CRDR\n',
    );
  });

  it('names an unreachable --endpoint-url and suggests pnpm stack up', async () => {
    const port = await freePort();
    const result = await runMqctl([
      'describe-broker',
      '--broker-id',
      'b-1',
      '--endpoint-url',
      `127.0.0.1:${port}`,
      '--output',
      'json',
    ]);
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(
      new RegExp(
        `^mqctl: cannot reach the control plane of region-a at 127\\.0\\.0\\.1:${port} \\(from --endpoint-url\\): .*pnpm stack up`,
      ),
    );
    expect(errorObject(result.stdout).Code).toBe('EndpointConnectionError');
  });

  it('finds .stack/endpoints.json from the working directory upward, for the chosen Region', async () => {
    const fileName = join(stackDir, '.stack', 'endpoints.json');
    const byDefault = await runMqctl(['list-brokers'], { cwd: join(stackDir, 'nested', 'deeper') });
    expect(byDefault.exitCode).toBe(255);
    expect(byDefault.stderr).toContain(
      `the control plane of region-a at 127.0.0.1:${portA} (from ${fileName})`,
    );

    const byFlag = await runMqctl(['--region', 'region-b', 'list-brokers'], { cwd: stackDir });
    expect(byFlag.stderr).toContain(`region-b at 127.0.0.1:${portB} (from ${fileName})`);

    const byEnv = await runMqctl(['list-brokers'], {
      cwd: stackDir,
      env: { MQCTL_REGION: 'region-b' },
    });
    expect(byEnv.stderr).toContain(`region-b at 127.0.0.1:${portB}`);
  });

  it('takes MQCTL_ENDPOINTS_FILE instead of searching', async () => {
    const result = await runMqctl(['list-brokers'], {
      cwd: stackDir,
      env: { MQCTL_ENDPOINTS_FILE: join(workDir, 'other-endpoints.json') },
    });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toContain(
      `at 127.0.0.1:${portOther} (from ${join(workDir, 'other-endpoints.json')})`,
    );
  });

  it('names an unknown Region and a missing endpoints file', async () => {
    const unknownRegion = await runMqctl(['--region', 'region-z', 'list-brokers'], {
      cwd: stackDir,
    });
    expect(unknownRegion.exitCode).toBe(252);
    expect(unknownRegion.stderr).toBe(
      `mqctl: unknown Region "region-z": ${join(stackDir, '.stack', 'endpoints.json')} has region-a, region-b\n`,
    );

    const noFile = await runMqctl(['list-brokers'], { cwd: join(workDir, 'elsewhere') });
    expect(noFile.exitCode).toBe(255);
    expect(noFile.stderr).toMatch(
      /^mqctl: no \.stack\/endpoints\.json in .*elsewhere or any directory above it\. Start the stack with `pnpm stack up`/,
    );
    expect(errorObject(noFile.stdout).Code).toBe('EndpointConnectionError');
  });
});
