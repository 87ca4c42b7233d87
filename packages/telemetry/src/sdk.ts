import { setTracingEnabled } from './propagation.js';

export interface TelemetryOptions {
  readonly serviceName: string;
  /** The environment to read the standard OTEL_* variables from. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Telemetry {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when the standard variables ask for an exporter
 * (OTEL_TRACES_EXPORTER, or an OTLP endpoint). With none configured, nothing is started,
 * nothing is exported and nothing complains; spans are then no-ops.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const { env } = options;
  const exporter = env['OTEL_TRACES_EXPORTER'];
  const endpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  const wanted = (exporter !== undefined && exporter !== 'none') || endpoint !== undefined;
  if (!wanted || env['OTEL_SDK_DISABLED'] === 'true') {
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  process.env['OTEL_SERVICE_NAME'] ??= options.serviceName;
  // Loaded only when asked for: the SDK costs tens of megabytes of memory that a process
  // exporting nothing should not pay.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName: options.serviceName });
  sdk.start();
  setTracingEnabled(true);
  return {
    enabled: true,
    shutdown: async () => {
      setTracingEnabled(false);
      await sdk.shutdown();
    },
  };
}
