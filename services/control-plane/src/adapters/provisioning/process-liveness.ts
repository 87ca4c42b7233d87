import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessRecord } from './process-record.js';

/** The environment variable that ties a running process to its record (see ProcessRecord.token). */
export const processTokenVariable = 'CRDR_PROCESS_TOKEN';

const hasProc = existsSync('/proc/self/environ');

/**
 * Whether the process of `record` still runs: the pid exists, is not a zombie, and (where
 * /proc exists) its environment carries the record's token and its command line the record's
 * entry, so a pid the kernel gave to another process since is not mistaken for it.
 */
export function isRecordedProcessAlive(
  record: Pick<ProcessRecord, 'pid' | 'token' | 'command'>,
): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    // EPERM: the pid exists but belongs to another user, so it is not ours any more.
    return false;
  }
  if (!hasProc) return true;
  const stat = procStat(record.pid);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  try {
    const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0');
    if (!environ.includes(`${processTokenVariable}=${record.token}`)) return false;
    const argv = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    const entry = record.command[record.command.length - 1];
    return entry === undefined || argv.includes(entry);
  } catch {
    return false;
  }
}

/**
 * Signals the process group the process leads (it was started detached, so it leads one), or
 * the process alone when the group is gone. Only call after `isRecordedProcessAlive`.
 */
export function signalRecordedProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // No such group (it was not started detached, or the leader moved on): the pid alone.
  }
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** The process's start time in clock ticks since boot (with its pid, a unique identity). */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/**
 * The process's state and start time (in clock ticks since boot) from /proc/<pid>/stat, or
 * undefined when there is no such process (or no /proc).
 */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name in parentheses: state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Whether the very process that had `startTime` still runs (not a zombie). Unlike the token
 * check this holds while a killed process tears down its memory (its environ reads empty then).
 */
function stillRunning(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!hasProc) return true;
  const stat = procStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Polls until the process is gone; false when it still runs after `timeoutMs`. */
export async function waitUntilGone(
  pid: number,
  startTime: string | undefined,
  timeoutMs: number,
  pollMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (stillRunning(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * Stops a recorded process: SIGTERM and up to `gracefulTimeoutMs` for it to finish, then
 * SIGKILL (at once when not graceful). Resolves once it is gone; throws if even SIGKILL did not
 * end it within `killTimeoutMs` (a process stuck in the kernel).
 */
export async function stopRecordedProcess(
  record: Pick<ProcessRecord, 'pid' | 'token' | 'command' | 'id' | 'startTime'>,
  options: { readonly graceful: boolean; gracefulTimeoutMs: number; killTimeoutMs: number },
): Promise<void> {
  // Identified by its token, or by the start time it was recorded with (which, unlike the
  // token, still reads while a killed process tears down its memory); from here on by the latter.
  const startTime = isRecordedProcessAlive(record)
    ? procStat(record.pid)?.startTime
    : record.startTime;
  if (startTime === undefined || !stillRunning(record.pid, startTime)) return;
  if (options.graceful) {
    signalRecordedProcess(record.pid, 'SIGTERM');
    if (await waitUntilGone(record.pid, startTime, options.gracefulTimeoutMs)) return;
  }
  if (!stillRunning(record.pid, startTime)) return;
  signalRecordedProcess(record.pid, 'SIGKILL');
  if (await waitUntilGone(record.pid, startTime, options.killTimeoutMs)) return;
  throw new Error(
    `process ${record.id} (pid ${record.pid}) still runs ${options.killTimeoutMs} ms after SIGKILL`,
  );
}
