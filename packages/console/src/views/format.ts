import { markup, type SafeHtml } from '../html.js';

/** A state word as a coloured badge; the class derives from a closed list, the text is escaped. */
export function badge(value: string | undefined, testId?: string, title?: string): SafeHtml {
  if (value === undefined || value === '') {
    return markup`<span class="muted"${testId ? markup` data-testid="${testId}"` : markup``}>—</span>`;
  }
  const text = value;
  const tone = toneOf(text);
  return markup`<span class="badge badge-${tone}" ${testId ? markup` data-testid="${testId}"` : markup``}${title ? markup` title="${title}"` : markup``}
    >${text}</span
  >`;
}

function toneOf(value: string): 'ok' | 'busy' | 'bad' | 'idle' | 'stalled' | 'paused' {
  switch (value) {
    case 'RUNNING':
    case 'REPLICA':
    case 'REPLICATING':
    case 'PROMOTED':
    case 'PRIMARY':
    case 'ACTIVE':
    case 'REPUBLISHED':
      return 'ok';
    case 'CREATION_IN_PROGRESS':
    case 'REBOOT_IN_PROGRESS':
    case 'PROMOTION_IN_PROGRESS':
    case 'DEMOTION_IN_PROGRESS':
    case 'PAIRING':
    case 'STARTING':
    case 'PENDING':
      return 'busy';
    case 'CREATION_FAILED':
    case 'CRASH_LOOP':
    case 'CRITICAL_ACTION_REQUIRED':
    case 'DELETION_IN_PROGRESS':
    case 'FAILED':
      return 'bad';
    // Replication stopped: filled, so that it stands out among the outlined badges.
    case 'STALLED':
      return 'stalled';
    case 'PAUSED':
      return 'paused';
    default:
      return 'idle';
  }
}

/** A lag in milliseconds as people read it: `0 ms`, `850 ms`, `12.3 s`, `4 min 2 s`. */
export function formatLagMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const rounded = Math.max(0, Math.round(ms));
  if (rounded < 1000) return `${rounded} ms`;
  if (rounded < 60_000) return `${(rounded / 1000).toFixed(1)} s`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = Math.round((rounded % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

/** Epoch milliseconds (as the proto's decimal string or a number) as an ISO time, or `—`. */
export function formatEpochMs(ms: string | number | undefined): string {
  const value = typeof ms === 'string' ? Number(ms) : ms;
  if (value === undefined || !Number.isFinite(value) || value <= 0) return '—';
  return new Date(value).toISOString();
}

export function orDash(value: string | undefined | null): string {
  return value === undefined || value === null || value === '' ? '—' : value;
}
