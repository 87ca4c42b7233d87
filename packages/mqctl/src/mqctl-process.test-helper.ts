import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** bin.ts and the tsx loader by absolute path, so mqctl can run from any working directory. */
const binPath = fileURLToPath(new URL('./bin.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface MqctlResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface MqctlRunOptions {
  readonly cwd?: string;
  /** Added to the environment, whose MQCTL_* variables are cleared first. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with each chunk of stderr as it arrives (progress lines). */
  readonly onStderr?: (chunk: string) => void;
}

/** Runs `mqctl ARGS` as a real process (as `pnpm mqctl` does) with stdout a pipe, not a TTY. */
export function runMqctl(
  args: readonly string[],
  options: MqctlRunOptions = {},
): Promise<MqctlResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.MQCTL_REGION;
  delete env.MQCTL_ENDPOINTS_FILE;
  const child = spawn(process.execPath, ['--import', tsxLoader, binPath, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onStderr?.(chunk.toString());
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}
