import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@crdr/testing';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a repo script (`packages/stack/src/bin.ts`, `scripts/demo.ts`) as `pnpm <script>` would. */
export function runTsx(
  entry: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 240_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', entry, ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A stack of its own for one test file, beside any developer's stack. */
export async function testStackEnv(): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'crdr-stack-'));
  return {
    STACK_DIR: dir,
    MQCTL_ENDPOINTS_FILE: join(dir, 'endpoints.json'),
    LOG_LEVEL: 'info',
  };
}

export const stackCli = (args: readonly string[], env: Readonly<Record<string, string>>) =>
  runTsx('packages/stack/src/bin.ts', args, env);
