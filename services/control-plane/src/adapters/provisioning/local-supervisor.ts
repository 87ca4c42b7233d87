/** What the supervisor did, for the control plane's log. */
export type SupervisorEvent =
  | { readonly type: 'restarted'; readonly key: string }
  | {
      readonly type: 'restart-failed';
      readonly key: string;
      readonly error: unknown;
      readonly retryInMs: number;
    };

export interface SupervisorOptions {
  /** How often every watched process is checked. */
  readonly intervalMs: number;
  /** The wait after a failed restart: doubled on each failure from min up to max. */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly onEvent?: (event: SupervisorEvent) => void;
}

export interface Supervisor {
  /**
   * Checks `needsRestart` every interval and calls `restart` when it says so; `restart` must
   * itself re-check (under its lock) that the key is still watched by the same owner.
   */
  watch(key: string, needsRestart: () => Promise<boolean>, restart: () => Promise<void>): void;
  unwatch(key: string): void;
  close(): void;
}

interface Watched {
  readonly needsRestart: () => Promise<boolean>;
  readonly restart: () => Promise<void>;
  failures: number;
  notBeforeMs: number;
}

/**
 * Restarts the processes that died while the control plane runs, one check pass at a time, with
 * exponential backoff per process after failed restarts.
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const watched = new Map<string, Watched>();
  let ticking = false;

  async function check(key: string, entry: Watched): Promise<void> {
    if (Date.now() < entry.notBeforeMs) return;
    try {
      if (!(await entry.needsRestart()) || watched.get(key) !== entry) return;
      await entry.restart();
      entry.failures = 0;
      entry.notBeforeMs = 0;
      options.onEvent?.({ type: 'restarted', key });
    } catch (error) {
      entry.failures += 1;
      const retryInMs = Math.min(
        options.backoffMaxMs,
        options.backoffMinMs * 2 ** Math.min(entry.failures - 1, 30),
      );
      entry.notBeforeMs = Date.now() + retryInMs;
      options.onEvent?.({ type: 'restart-failed', key, error, retryInMs });
    }
  }

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      for (const [key, entry] of [...watched]) await check(key, entry);
    } finally {
      ticking = false;
    }
  }

  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();

  return {
    watch(key, needsRestart, restart) {
      const current = watched.get(key);
      if (current !== undefined && current.restart === restart) return;
      watched.set(key, { needsRestart, restart, failures: 0, notBeforeMs: 0 });
    },
    unwatch: (key) => void watched.delete(key),
    close() {
      clearInterval(timer);
      watched.clear();
    },
  };
}
