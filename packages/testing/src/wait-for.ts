/**
 * The shortest time any test waits for a condition before it fails. A deadline only bounds how
 * long a failing test takes to say so; on two cores busy with the whole suite a healthy process
 * can be seconds late, so a shorter deadline fails healthy code. Tests that measure how fast
 * something happens are benchmarks (`pnpm bench ...`), not assertions.
 */
export const minimumWaitMs = 30_000;

/** The deadline to use for a wait a caller would bound by `timeoutMs`: never below the minimum. */
export function patientTimeoutMs(timeoutMs: number): number {
  return Math.max(timeoutMs, minimumWaitMs);
}

/** Polls `probe` until it returns true, failing with `what` after `timeoutMs` (30 s at least). */
export async function waitFor(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = minimumWaitMs,
  intervalMs = 25,
): Promise<void> {
  const patience = patientTimeoutMs(timeoutMs);
  const deadline = Date.now() + patience;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${patience} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
