import type { HeartBeatSchedule } from './heart-beat.js';

/**
 * Runs one connection's heart-beating: sends a heart-beat when nothing else was written for about
 * the agreed interval, and reports the peer dead after twice its interval without any byte.
 * Timers never keep the process alive.
 */
export class HeartBeatMonitor {
  private wroteSinceTick = false;
  private lastReadAtMs = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];

  /** Call on every write, so idle heart-beats are skipped while data flows. */
  noteWrite(): void {
    this.wroteSinceTick = true;
  }

  /** Call on every chunk read. */
  noteRead(): void {
    this.lastReadAtMs = Date.now();
  }

  start(
    { sendEveryMs, expectEveryMs }: HeartBeatSchedule,
    sendHeartBeat: () => void,
    onSilence: (silentMs: number) => void,
  ): void {
    if (sendEveryMs > 0) {
      // Ticking at half the interval bounds the silence between two writes by the interval.
      const tickMs = Math.max(1, Math.floor(sendEveryMs / 2));
      this.every(tickMs, () => {
        if (!this.wroteSinceTick) sendHeartBeat();
        this.wroteSinceTick = false;
      });
    }
    if (expectEveryMs > 0) {
      this.lastReadAtMs = Date.now();
      this.every(expectEveryMs, () => {
        const silentMs = Date.now() - this.lastReadAtMs;
        if (silentMs > 2 * expectEveryMs) onSilence(silentMs);
      });
    }
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
