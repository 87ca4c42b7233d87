import { toCrdrError } from '@crdr/errors';
import { createClient, loadProto } from '@crdr/proto';
import type { Logger } from '@crdr/telemetry';

export interface ControlPlaneRegistrationOptions {
  /** host:port of this Region's control plane. */
  readonly controlPlane: string;
  readonly credentials: { readonly username: string; readonly password: string };
  readonly brokerId: string;
  readonly instanceId: string;
  /** host:port each, as the control plane and clients reach this instance. */
  readonly stomp: string;
  readonly ws: string;
  readonly grpc: string;
  /** The registration is repeated this often once accepted (a heartbeat), in ms. */
  readonly heartbeatMs: number;
  readonly log: Logger;
}

export interface ControlPlaneRegistration {
  /** Resolves once a registration has been accepted (tests, diagnostics). */
  readonly registered: Promise<void>;
  stop(): void;
}

const firstRetryMs = 250;
const maxRetryMs = 5_000;
const callDeadlineMs = 5_000;

/** `stomp://host:port` (as the broker prints its endpoints) or `host:port` → `host:port`. */
export const hostPort = (endpoint: string): string =>
  endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');

/**
 * Static provisioning, the broker's side: registers this instance with the control plane
 * (ControlPlaneInternalService.RegisterBrokerInstance) and repeats it every heartbeatMs, so a
 * control plane that restarted, or lost its registrations, learns the instance again. A refusal
 * (the control plane is away, has not created the broker yet, or refuses the credentials) is
 * logged once per distinct reason and retried with a backoff from 250 ms up to
 * min(heartbeatMs, 5 s): the broker serves meanwhile, as a deployment starts it before anyone
 * calls CreateBroker.
 */
export function startControlPlaneRegistration(
  options: ControlPlaneRegistrationOptions,
): ControlPlaneRegistration {
  const client = createClient(
    loadProto().crdr.controlplane.v1.ControlPlaneInternalService,
    options.controlPlane,
    {
      credentials: options.credentials,
      deadlineMs: callDeadlineMs,
      // Reconnect to a restarted control plane as fast as the retries go (grpc-js's own backoff
      // grows to 2 minutes).
      channelOptions: {
        'grpc.initial_reconnect_backoff_ms': firstRetryMs,
        'grpc.max_reconnect_backoff_ms': maxRetryMs,
      },
    },
  );
  const log = options.log.child({ component: 'control-plane-registration' });
  const request = {
    brokerId: options.brokerId,
    instanceId: options.instanceId,
    stomp: hostPort(options.stomp),
    ws: hostPort(options.ws),
    grpc: hostPort(options.grpc),
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let retryMs = firstRetryMs;
  let lastProblem: string | undefined;
  let accepted = false;
  let markRegistered: () => void = () => undefined;
  const registered = new Promise<void>((resolve) => (markRegistered = resolve));

  const schedule = (ms: number): void => {
    if (!stopped) timer = setTimeout(() => void attempt(), ms);
  };

  async function attempt(): Promise<void> {
    try {
      await client.registerBrokerInstance(request);
      if (!accepted || lastProblem !== undefined) {
        log.info(
          { controlPlane: options.controlPlane, ...request },
          'registered with the control plane',
        );
      }
      accepted = true;
      lastProblem = undefined;
      retryMs = firstRetryMs;
      markRegistered();
      schedule(options.heartbeatMs);
    } catch (error) {
      if (stopped) return;
      const failure = toCrdrError(error);
      const problem = `${failure.code}: ${failure.message}`;
      if (problem !== lastProblem) {
        const fields = { controlPlane: options.controlPlane, brokerId: options.brokerId, problem };
        // Credentials and bad input need the operator; the rest resolves itself.
        if (failure.code === 'Unauthenticated' || failure.code === 'BadRequest') {
          log.error(fields, 'the control plane refused the registration; retrying');
        } else {
          log.warn(fields, 'registration with the control plane failed; retrying');
        }
        lastProblem = problem;
      }
      schedule(retryMs);
      retryMs = Math.min(retryMs * 2, Math.min(options.heartbeatMs, maxRetryMs));
    }
  }

  void attempt();
  return {
    registered,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      client.close();
    },
  };
}

interface RegistrationConfig {
  readonly BROKER_ID: string;
  readonly BROKER_CONTROL_PLANE?: string | undefined;
  readonly BROKER_CONTROL_PLANE_USER?: string | undefined;
  readonly BROKER_CONTROL_PLANE_PASSWORD?: string | undefined;
  readonly BROKER_CONTROL_PLANE_HEARTBEAT_MS: number;
}

/** The control plane's console user (BROKER_CONTROL_PLANE_USER/PASSWORD), created at start. */
export function controlPlaneUser(
  config: RegistrationConfig,
): { username: string; password: string }[] {
  const username = config.BROKER_CONTROL_PLANE_USER;
  const password = config.BROKER_CONTROL_PLANE_PASSWORD;
  return username === undefined || password === undefined ? [] : [{ username, password }];
}

/** Starts the registration when BROKER_CONTROL_PLANE is set (static provisioning). */
export function registerWithControlPlane(
  config: RegistrationConfig,
  instanceId: string,
  endpoints: { readonly stomp: string; readonly ws: string; readonly grpc: string },
  log: Logger,
): ControlPlaneRegistration | undefined {
  const [credentials] = controlPlaneUser(config);
  if (config.BROKER_CONTROL_PLANE === undefined || credentials === undefined) return undefined;
  return startControlPlaneRegistration({
    controlPlane: config.BROKER_CONTROL_PLANE,
    credentials,
    brokerId: config.BROKER_ID,
    instanceId,
    ...endpoints,
    heartbeatMs: config.BROKER_CONTROL_PLANE_HEARTBEAT_MS,
    log,
  });
}
