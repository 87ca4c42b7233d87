import { describe, expect, it } from 'vitest';
import { listenRuntimeMetrics } from './runtime-metrics.js';

// The listener runService starts with RUNTIME_METRICS_PORT: real HTTP on a free port.
describe('runtime metrics listener', () => {
  it('serves heap, event-loop lag and GC metrics without timestamps on /metrics', async () => {
    const listener = await listenRuntimeMetrics('broker', '127.0.0.1', 0);
    try {
      const response = await fetch(`http://127.0.0.1:${listener.port}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toMatch(/^nodejs_heap_size_used_bytes\{service="broker"\} \d+$/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="broker"\} [\d.e-]+$/m);
      expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
      expect(text).toMatch(/^process_cpu_seconds_total\{service="broker"\} [\d.e-]+$/m);
      const missing = await fetch(`http://127.0.0.1:${listener.port}/other`);
      expect(missing.status).toBe(404);
    } finally {
      await listener.close();
    }
  });
});
