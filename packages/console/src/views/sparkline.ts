import { markup, unsafeRaw, type SafeHtml } from '../html.js';
import { formatLagMs } from './format.js';

export interface SparklineOptions {
  readonly width?: number;
  readonly height?: number;
  /** Accessible name, e.g. `ReplicationLag of broker-1`. */
  readonly label: string;
}

/**
 * Recent lag figures (oldest first, milliseconds) as an inline SVG polyline: no script, no
 * external resource. The y axis starts at 0 and tops at the largest figure shown (at least 1 s,
 * so a quiet link stays a flat line at the bottom instead of magnifying noise).
 */
export function sparkline(points: readonly number[], options: SparklineOptions): SafeHtml {
  const width = options.width ?? 120;
  const height = options.height ?? 24;
  const sampled = points.filter((point) => Number.isFinite(point)).map((p) => Math.max(0, p));
  // One sample is drawn as a flat line across, so the first figure is visible at once.
  const finite = sampled.length === 1 ? [sampled[0]!, sampled[0]!] : sampled;
  if (finite.length === 0) {
    return markup`<svg
      class="sparkline"
      width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"
      role="img"
      aria-label="${options.label}: no data"
    >
      <line
        x1="0"
        y1="${height - 1}"
        x2="${width}"
        y2="${height - 1}"
        stroke="#c3c8cf"
        stroke-dasharray="2 3"
      />
    </svg>`;
  }
  const top = Math.max(1000, ...finite);
  const step = finite.length > 1 ? width / (finite.length - 1) : 0;
  const coordinates = finite
    .map((point, index) => {
      const x = finite.length > 1 ? index * step : width;
      const y = height - 1 - (point / top) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const last = finite[finite.length - 1] ?? 0;
  // The coordinates are numbers the code above formatted, never user data.
  return markup`<svg
    class="sparkline"
    width="${width}"
    height="${height}"
    viewBox="0 0 ${width} ${height}"
    role="img"
    aria-label="${options.label}: ${formatLagMs(last)} now, peak ${formatLagMs(Math.max(...finite))}"
  >
    <polyline fill="none" stroke="#2f6fde" stroke-width="1.5" points="${unsafeRaw(coordinates)}" />
  </svg>`;
}
