import { createConsoleServer, type ConsoleServer } from '@crdr/console';
import type { Logger } from '@crdr/telemetry';
import type { ControlPlaneConfig } from '../../config.js';

/**
 * The Region's web console (@crdr/console), served beside the control plane when
 * CONTROL_PLANE_CONSOLE_PORT is set. It drives this control plane through its own public gRPC
 * API, as any client does, so the console can never do what the API refuses.
 */
export function createRegionConsole(
  config: Readonly<ControlPlaneConfig>,
  controlPlaneAddress: string,
  log: Logger,
): ConsoleServer | undefined {
  if (config.CONTROL_PLANE_CONSOLE_PORT === undefined) return undefined;
  return createConsoleServer({
    region: config.CONTROL_PLANE_REGION,
    controlPlaneAddress,
    port: config.CONTROL_PLANE_CONSOLE_PORT,
    host: config.CONTROL_PLANE_HOST,
    ...(config.CONTROL_PLANE_CONSOLE_ADMIN === undefined
      ? {}
      : { bootstrapAdmin: config.CONTROL_PLANE_CONSOLE_ADMIN }),
    ...(config.CONTROL_PLANE_METRICS_GRPC === undefined
      ? {}
      : { metricsAddress: config.CONTROL_PLANE_METRICS_GRPC }),
    peerConsoleUrls: parsePeerConsoles(config.CONTROL_PLANE_PEER_CONSOLES),
    logger: log.child({ component: 'console' }),
  });
}

function parsePeerConsoles(value: string | undefined): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const entry of (value ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at > 0) urls[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return urls;
}
