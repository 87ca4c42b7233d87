import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CrdrError } from '@crdr/errors';
import { isRecordedProcessAlive } from './process-liveness.js';
import type { ProcessRecord } from './process-record.js';

/**
 * A process that could not start: it exited (or hung) before printing its `ENDPOINTS` line.
 * `logTail` holds the last lines it wrote, the reason a broker shows as CREATION_FAILED.
 */
export class ProcessStartError extends CrdrError {
  readonly processId: string;
  readonly logFile: string;
  readonly logTail: string;
  /** One line: what happened and the error the process printed, for a status reason. */
  readonly summary: string;

  constructor(processId: string, what: string, logFile: string, logTail: string) {
    super('Internal', `${processId} ${what}; last lines of ${logFile}:\n${logTail}`, {
      details: { processId, logFile },
    });
    this.name = 'ProcessStartError';
    this.processId = processId;
    this.logFile = logFile;
    this.logTail = logTail;
    const printed = startFailureLine(logTail);
    this.summary = `${processId} ${what}${printed === undefined ? '' : `: ${printed}`}`;
  }
}

const summaryMaxChars = 300;

/**
 * The line of a log tail that says why the process did not start: runService's `NAME: failed to
 * start: ERROR` (or a config error's `NAME: ...`) when present, else the last line that is not
 * part of a stack trace.
 */
function startFailureLine(logTail: string): string | undefined {
  const lines = logTail
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at '));
  const failed = lines.findLast((line) => line.includes(': failed to start: '));
  const chosen = failed?.slice(failed.indexOf(': failed to start: ') + 19) ?? lines.at(-1);
  if (chosen === undefined) return undefined;
  return chosen.length > summaryMaxChars ? `${chosen.slice(0, summaryMaxChars)}…` : chosen;
}

export function isProcessStartError(error: unknown): error is ProcessStartError {
  return error instanceof ProcessStartError;
}

export interface LaunchedProcess {
  readonly pid: number;
  readonly logOffset: number;
  /** Only while this provisioner is the parent: how the process ended, once it did. */
  readonly exitDescription: () => string | undefined;
}

/**
 * Starts `command` detached (its own session and process group, so it outlives the control
 * plane, even a `kill -9` of it), stdout and stderr appended to `logFile`, stdin closed.
 */
export async function launchDetached(options: {
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
}): Promise<LaunchedProcess> {
  const [file, ...args] = options.command;
  if (file === undefined) throw new Error('empty command');
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a', 0o600);
  let child: ChildProcess;
  let logOffset: number;
  try {
    logOffset = fstatSync(fd).size;
    child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exit: string | undefined;
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.on('error', () => undefined);
  child.once('exit', (code, signal) => {
    exit = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
  });
  await spawned;
  child.unref();
  return { pid: child.pid!, logOffset, exitDescription: () => exit };
}

/** The last `maxLines` lines the process wrote after `offset` (at most the last 16 KiB). */
export async function readLogTail(logFile: string, offset: number, maxLines = 30): Promise<string> {
  let handle;
  try {
    handle = await open(logFile, 'r');
  } catch {
    return '(no log)';
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(offset, size - 16_384);
    const length = Math.max(0, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const tail = lines.slice(-maxLines).join('\n');
    return tail === '' ? '(the process wrote nothing)' : tail;
  } finally {
    await handle.close();
  }
}

const endpointsLine = /^ENDPOINTS (\{.*\})\r?\n/m;

/**
 * Waits for the `ENDPOINTS {json}` line the process prints on stdout once it listens (standby
 * brokers print it too), reading the log file rather than a pipe so that a restarted control
 * plane can wait on a process it did not start. Rejects with a ProcessStartError when the
 * process ends first or `timeoutMs` passes (then it is killed by the caller).
 */
export async function waitForEndpoints(
  record: ProcessRecord,
  options: {
    readonly timeoutMs: number;
    readonly signal: AbortSignal;
    readonly pollMs?: number;
    readonly exitDescription?: () => string | undefined;
  },
): Promise<Record<string, string>> {
  const deadline = Date.now() + options.timeoutMs;
  let position = record.logOffset;
  let pending = '';
  const scan = async (): Promise<Record<string, string> | undefined> => {
    let handle;
    try {
      handle = await open(record.logFile, 'r');
    } catch {
      return undefined;
    }
    try {
      for (;;) {
        const buffer = Buffer.alloc(65_536);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        pending += buffer.subarray(0, bytesRead).toString('utf8');
        const match = endpointsLine.exec(pending);
        if (match !== null) return JSON.parse(match[1]!) as Record<string, string>;
        const lastNewline = pending.lastIndexOf('\n');
        if (lastNewline >= 0) pending = pending.slice(lastNewline + 1);
      }
      return undefined;
    } finally {
      await handle.close();
    }
  };
  for (;;) {
    const found = await scan();
    if (found !== undefined) return found;
    if (!isRecordedProcessAlive(record)) {
      // It may have printed the line just before it ended.
      const last = await scan();
      if (last !== undefined) return last;
      const how = options.exitDescription?.() ?? 'ended';
      throw new ProcessStartError(
        record.id,
        `${how} before it printed its endpoints`,
        record.logFile,
        await readLogTail(record.logFile, record.logOffset),
      );
    }
    if (Date.now() >= deadline) {
      throw new ProcessStartError(
        record.id,
        `did not print its endpoints within ${options.timeoutMs} ms`,
        record.logFile,
        await readLogTail(record.logFile, record.logOffset),
      );
    }
    options.signal.throwIfAborted();
    await sleep(options.pollMs ?? 100);
  }
}
