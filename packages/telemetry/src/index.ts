export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './sdk.js';
export { attributeNames, getTracer, withSpan } from './tracing.js';
export {
  activeTraceId,
  contextFromHeaders,
  contextFromRecord,
  currentTraceContext,
  endSpan,
  injectTraceContext,
  isTracingEnabled,
  linkTo,
  setTracingEnabled,
  startSpan,
  traced,
  type HeaderGetter,
  type SpanOptions,
} from './propagation.js';
export { latencyProbe, type LatencyProbe, type ProbeSummary } from './latency-probe.js';
