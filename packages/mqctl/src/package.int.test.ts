import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@crdr/testing';

/*
 * mqctl as an operator installs it outside the repository: `pnpm pack` (which builds the one-file
 * bundle) and `npm i -g` of the tarball into a temporary prefix, then the installed `mqctl`
 * command run from a directory outside the repository.
 */

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

let workDir: string;
let mqctlBin: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'mqctl-pack-'));
  await run('pnpm', ['pack', '--pack-destination', workDir], {
    cwd: packageDir,
    timeout: 240_000,
  });
  const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const prefix = join(workDir, 'prefix');
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--offline',
      '--no-audit',
      '--no-fund',
      join(workDir, tarball!),
    ],
    { cwd: workDir, timeout: 240_000 },
  );
  mqctlBin = join(prefix, 'bin', 'mqctl');
}, 300_000);

afterAll(() => {
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

async function mqctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(mqctlBin, args, { cwd: workDir, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the packed mqctl, installed with npm i -g', () => {
  it('prints its version and help', async () => {
    const version = await mqctl('--version');
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^mqctl\/0\.1\.0 node\/v\d+\.\d+\.\d+\n$/);
    const help = await mqctl('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('create-broker');
    expect(help.stdout).toContain('--query');
    const skeleton = await mqctl('describe-broker', '--generate-cli-skeleton');
    expect(JSON.parse(skeleton.stdout)).toEqual({ BrokerId: '' });
  }, 120_000);

  it('loads its .proto files from the package and reports an unreachable endpoint with 255', async () => {
    const port = await freePort();
    const result = await mqctl(
      'describe-broker',
      '--broker-id',
      'b-1',
      '--endpoint-url',
      `127.0.0.1:${port}`,
      '--output',
      'json',
    );
    expect(result.code).toBe(255);
    expect(result.stderr).toContain(
      `cannot reach the control plane of region-a at 127.0.0.1:${port}`,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ Error: { Code: 'EndpointConnectionError' } });
  }, 120_000);
});
