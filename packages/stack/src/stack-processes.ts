import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/**
 * Every process the stack starts carries `CRDR_STACK=<stack dir>#<region>` in its environment, and
 * passes it on to what it starts in turn (the control plane's brokers and replicators inherit
 * their parent's environment). `down` finds them all by that mark in /proc, so nothing is left
 * behind even when a control plane lost track of a child, and a recycled pid is never killed.
 */
export const stackMarkVariable = 'CRDR_STACK';

export function stackMark(stackDir: string, region: string): string {
  return `${stackDir}#${region}`;
}

export interface DetachedProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly logFile: string;
}

/** Starts a process in its own session, outliving the launcher, output appended to `logFile`. */
export function startDetached(options: DetachedProcessOptions): number {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** The pids of live processes whose environment holds exactly `CRDR_STACK=<mark>`. */
export async function markedProcesses(mark: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid !== process.pid && (await isMarked(pid, mark))) found.push(pid);
  }
  return found;
}

/** Whether `pid` is a live process carrying `CRDR_STACK=<mark>` (a recycled pid does not). */
export async function isMarked(pid: number, mark: string): Promise<boolean> {
  let environ: string;
  try {
    environ = await readFile(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return false; // gone meanwhile, or not ours to read
  }
  return (
    environ.split('\0').includes(`${stackMarkVariable}=${mark}`) && !(await isZombie(String(pid)))
  );
}

async function isZombie(pid: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGKILLs the marked processes and waits until none is left. */
export async function killMarked(mark: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let killed = 0;
  for (;;) {
    const pids = await markedProcesses(mark);
    if (pids.length === 0) return killed;
    if (Date.now() > deadline) {
      throw new Error(`processes ${pids.join(', ')} of ${mark} did not stop`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
