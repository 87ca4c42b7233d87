/** What the supervisor did, for the control plane's log. */
export type SupervisorEvent =
  | { readonly type: 'died'; readonly key: string; readonly restartInMs: number }
  | { readonly type: 'restarted'; readonly key: string }
  | {
      readonly type: 'restart-failed';
      readonly key: string;
      readonly error: unknown;
      readonly retryInMs: number;
    }
  | { readonly type: 'crash-loop'; readonly key: string; readonly crashes: number };

export interface SupervisorOptions {
  /** How often every watched process is checked. */
  readonly intervalMs: number;
  /**
   * The wait before restarting a process that crashed soon after its start (or could not be
   * started): doubled on each such crash in a row, from min up to max. A process that ran for
   * `stableAfterMs` is restarted at once and its count starts again.
   */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  /** How long a process must run before its crash counts as a new, single one. */
  readonly stableAfterMs: number;
  /** Crashes in a row (each before `stableAfterMs`) that make a crash loop. */
  readonly crashLoopAfter: number;
  readonly onEvent?: (event: SupervisorEvent) => void;
}

/**
 * RUNNING: the process runs (or ran when last checked). RESTARTING: it died and is being
 * started again, or waits for its backoff. CRASH_LOOP: it keeps dying soon after each start;
 * it is still restarted, at most every backoffMaxMs.
 */
export type SupervisionState = 'RUNNING' | 'RESTARTING' | 'CRASH_LOOP';

export interface SupervisionStatus {
  readonly state: SupervisionState;
  /** Crashes in a row, each soon after its start. */
  readonly crashes: number;
  /** Restarts tried (started or not) since the process last ran for stableAfterMs. */
  readonly restarts: number;
  /** How the process last ended, or why its last restart failed, in one line. */
  readonly lastExit?: string;
  /** Why the last restart failed, when it did. */
  readonly lastError?: string;
  /** When the process was last started (epoch ms), while it is thought to run. */
  readonly upSinceMs?: number;
}

/** Undefined while the process runs; how it ended (`exited with code 1`) once it did not. */
export type ExitProbe = () => Promise<string | undefined>;

export interface Supervisor {
  /**
   * Checks `exited` every interval and calls `restart` when it says the process ended;
   * `restart` must itself re-check (under its lock) that the key is still watched by the same
   * owner.
   */
  watch(key: string, exited: ExitProbe, restart: () => Promise<void>): void;
  unwatch(key: string): void;
  status(key: string): SupervisionStatus | undefined;
  close(): void;
}

interface Watched {
  readonly exited: ExitProbe;
  readonly restart: () => Promise<void>;
  /** Crashes in a row, each before stableAfterMs. */
  crashes: number;
  restarts: number;
  lastExit?: string;
  startedAtMs: number;
  /** A death was seen and counted, and no restart succeeded since. */
  down: boolean;
  notBeforeMs: number;
  busy: boolean;
  lastError?: string;
}

/** The first line of a failed restart's error (its summary when it has one), for a reason. */
function exitSummary(error: unknown): string {
  const summary = (error as { summary?: unknown } | null)?.summary;
  if (typeof summary === 'string' && summary !== '') return summary;
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0]!;
}

/**
 * Restarts the processes that died while the control plane runs, one check pass at a time. A
 * process that keeps dying soon after its start is restarted with an exponential backoff
 * (capped) and shows as CRASH_LOOP.
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const watched = new Map<string, Watched>();

  const backoff = (crashes: number): number =>
    crashes === 0
      ? 0
      : Math.min(options.backoffMaxMs, options.backoffMinMs * 2 ** Math.min(crashes - 1, 30));

  function countCrash(key: string, entry: Watched, now: number): void {
    entry.crashes = now - entry.startedAtMs < options.stableAfterMs ? entry.crashes + 1 : 1;
    if (entry.crashes === options.crashLoopAfter)
      options.onEvent?.({ type: 'crash-loop', key, crashes: entry.crashes });
  }

  async function check(key: string, entry: Watched): Promise<void> {
    const now = Date.now();
    if (now < entry.notBeforeMs) return;
    if (!entry.down) {
      const exit = await entry.exited();
      if (exit === undefined || watched.get(key) !== entry) {
        if (Date.now() - entry.startedAtMs >= options.stableAfterMs) {
          entry.crashes = 0;
          entry.restarts = 0;
        }
        return;
      }
      entry.down = true;
      entry.lastExit = exit;
      countCrash(key, entry, now);
      // The first crash after a stable run is restarted at once; crashes in a row wait.
      const wait = entry.crashes <= 1 ? 0 : backoff(entry.crashes - 1);
      options.onEvent?.({ type: 'died', key, restartInMs: wait });
      if (wait > 0) {
        entry.notBeforeMs = now + wait;
        return;
      }
    }
    try {
      if (watched.get(key) !== entry) return;
      entry.restarts += 1;
      await entry.restart();
      entry.down = false;
      entry.startedAtMs = Date.now();
      entry.notBeforeMs = 0;
      delete entry.lastError;
      options.onEvent?.({ type: 'restarted', key });
    } catch (error) {
      // It did not even start: a crash right after its start.
      entry.crashes += 1;
      if (entry.crashes === options.crashLoopAfter)
        options.onEvent?.({ type: 'crash-loop', key, crashes: entry.crashes });
      entry.lastError = error instanceof Error ? error.message : String(error);
      entry.lastExit = exitSummary(error);
      const retryInMs = Math.max(options.backoffMinMs, backoff(entry.crashes - 1));
      entry.notBeforeMs = Date.now() + retryInMs;
      options.onEvent?.({ type: 'restart-failed', key, error, retryInMs });
    }
  }

  function tick(): void {
    // Each key on its own: one slow restart does not hold back the others.
    for (const [key, entry] of watched) {
      if (entry.busy) continue;
      entry.busy = true;
      void check(key, entry)
        .catch(() => undefined)
        .finally(() => {
          entry.busy = false;
        });
    }
  }

  const timer = setInterval(tick, options.intervalMs);
  timer.unref();

  return {
    watch(key, exited, restart) {
      const current = watched.get(key);
      if (current !== undefined && current.restart === restart) return;
      watched.set(key, {
        exited,
        restart,
        // A new start (a reboot, a resume) keeps the count of a process that keeps dying.
        crashes: current?.crashes ?? 0,
        restarts: current?.restarts ?? 0,
        ...(current?.lastExit === undefined ? {} : { lastExit: current.lastExit }),
        startedAtMs: Date.now(),
        down: false,
        notBeforeMs: 0,
        busy: false,
      });
    },
    unwatch: (key) => void watched.delete(key),
    status(key) {
      const entry = watched.get(key);
      if (entry === undefined) return undefined;
      const state: SupervisionState =
        entry.crashes >= options.crashLoopAfter
          ? 'CRASH_LOOP'
          : entry.down
            ? 'RESTARTING'
            : 'RUNNING';
      return {
        state,
        crashes: entry.crashes,
        restarts: entry.restarts,
        ...(entry.lastExit === undefined ? {} : { lastExit: entry.lastExit }),
        ...(entry.lastError === undefined ? {} : { lastError: entry.lastError }),
        ...(entry.down ? {} : { upSinceMs: entry.startedAtMs }),
      };
    },
    close() {
      clearInterval(timer);
      watched.clear();
    },
  };
}
