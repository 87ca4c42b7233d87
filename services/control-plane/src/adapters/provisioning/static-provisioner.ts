import { badRequest, deadlineExceeded, failedPrecondition } from '@crdr/errors';
import type { StaticRegistrationStore } from '../pg/static-registrations.js';
import type { BrokerInstanceInfo, Provisioner } from './provisioner.js';

export interface StaticProvisionerOptions {
  /** How long startBroker waits for the instances to register, in ms. */
  readonly registerTimeoutMs: number;
  /** The replicators the deployment runs: replica broker id → host:port of its ReplicatorService. */
  readonly replicators?: Readonly<Record<string, string>>;
  /** Where registrations are kept across control-plane restarts; memory only when absent. */
  readonly store?: StaticRegistrationStore;
}

/** A provisioner whose brokers are started elsewhere and register (RegisterBrokerInstance). */
export interface StaticProvisioner extends Provisioner {
  /** Loads the registrations kept by an earlier run (before serving). */
  restore(): Promise<void>;
  /** An instance announced itself; replaces an earlier registration of the same instance. */
  register(brokerId: string, instance: BrokerInstanceInfo): Promise<void>;
  /** Forgets a deleted broker's registrations. */
  forget(brokerId: string): Promise<void>;
  /** The `wanted` most recently seen instances of a broker, ordered by instance id. */
  registered(brokerId: string, wanted: number): readonly BrokerInstanceInfo[];
}

interface Seen {
  readonly info: BrokerInstanceInfo;
  readonly lastSeen: number;
}

/**
 * The `static` provisioner: brokers started by docker-compose or Kubernetes under a fixed
 * BROKER_ID (a static broker's id is its name, see CreateBroker) register their endpoints with
 * RegisterBrokerInstance, and repeat it as a heartbeat; startBroker waits for as many instances
 * as the deployment mode needs, preferring the most recently seen (an instance replaced under a
 * new instance id leaves a stale registration behind). Registrations are written to the control
 * plane's database, so a restarted control plane knows them before the next heartbeat.
 *
 * The deployment also runs the replicators, with their environment fixed: startReplicator starts
 * nothing and reports the endpoint CONTROL_PLANE_STATIC_REPLICATORS gives for the replica.
 */
export function createStaticProvisioner(options: StaticProvisionerOptions): StaticProvisioner {
  const instances = new Map<string, Map<string, Seen>>();
  const waiters = new Set<() => void>();
  const replicators = options.replicators ?? {};
  let closed = false;

  const remember = (brokerId: string, info: BrokerInstanceInfo, lastSeen: number): void => {
    const byInstance = instances.get(brokerId) ?? new Map<string, Seen>();
    byInstance.set(info.instanceId, { info, lastSeen });
    instances.set(brokerId, byInstance);
  };

  const byInstanceId = (a: BrokerInstanceInfo, b: BrokerInstanceInfo): number =>
    a.instanceId.localeCompare(b.instanceId);

  /** The `wanted` most recently seen instances, ordered by instance id. */
  const current = (brokerId: string, wanted = Number.POSITIVE_INFINITY): BrokerInstanceInfo[] =>
    [...(instances.get(brokerId)?.values() ?? [])]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, wanted)
      .map((s) => s.info)
      .sort(byInstanceId);

  const endpointOf = (replicaBrokerId: string): string | undefined =>
    Object.prototype.hasOwnProperty.call(replicators, replicaBrokerId)
      ? replicators[replicaBrokerId]
      : undefined;

  return {
    kind: 'static',
    async restore() {
      if (options.store === undefined) return;
      await options.store.migrate();
      for (const r of await options.store.list()) {
        remember(r.brokerId, r.instance, r.lastSeen.getTime());
      }
    },
    async register(brokerId, instance) {
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(brokerId)) {
        throw badRequest(`invalid broker_id "${brokerId}"`, { details: { field: 'broker_id' } });
      }
      const info: BrokerInstanceInfo = {
        instanceId: instance.instanceId,
        stomp: instance.stomp,
        ws: instance.ws,
        grpc: instance.grpc,
      };
      const lastSeen =
        options.store === undefined
          ? Date.now()
          : (await options.store.save(brokerId, info)).getTime();
      remember(brokerId, info, lastSeen);
      for (const wake of [...waiters]) wake();
    },
    registered: (brokerId, wanted) => current(brokerId, wanted),
    async forget(brokerId) {
      instances.delete(brokerId);
      await options.store?.remove(brokerId);
    },
    async startBroker(spec) {
      const wanted = spec.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ' ? 2 : 1;
      const deadline = Date.now() + options.registerTimeoutMs;
      while (current(spec.brokerId).length < wanted) {
        if (closed) throw failedPrecondition('the static provisioner is closed');
        const remainingMs = deadline - Date.now();
        if (remainingMs <= 0) {
          throw deadlineExceeded(
            `broker ${spec.brokerId}: ${current(spec.brokerId).length} of ${wanted} instances ` +
              `registered within ${options.registerTimeoutMs} ms: start ${wanted} broker ` +
              `instance(s) with BROKER_ID=${spec.brokerId} and BROKER_CONTROL_PLANE set`,
          );
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(remainingMs, 1_000));
          waiters.add(wake);
        });
      }
      return current(spec.brokerId, wanted);
    },
    // The deployment owns the processes and restarts them; a reboot keeps their registration.
    stopBroker: () => Promise.resolve(),
    brokerInstances: (brokerId) => Promise.resolve(current(brokerId)),
    startReplicator(spec) {
      const grpc = endpointOf(spec.replicaBrokerId);
      if (grpc === undefined) {
        return Promise.reject(
          failedPrecondition(
            `no replicator is configured for replica ${spec.replicaBrokerId}: with static ` +
              `provisioning the deployment runs it (REPLICATOR_REPLICA_BROKER_ID=` +
              `${spec.replicaBrokerId}, REPLICATOR_PRIMARY_BROKER_ID=${spec.primaryBrokerId}) ` +
              `and CONTROL_PLANE_STATIC_REPLICATORS names it (${spec.replicaBrokerId}=HOST:PORT)`,
            { details: { state: 'NO_REPLICATOR' } },
          ),
        );
      }
      return Promise.resolve({ grpc });
    },
    // The deployment's replicator keeps running; a standalone broker's replicator has no log to
    // read from and applies nothing.
    stopReplicator: () => Promise.resolve(),
    replicator: (replicaBrokerId) => {
      const grpc = endpointOf(replicaBrokerId);
      return Promise.resolve(grpc === undefined ? undefined : { grpc });
    },
    // The deployment's orchestrator restarts what dies (its restart policy); nothing to resume.
    resumeReplicator: (replicaBrokerId) => {
      const grpc = endpointOf(replicaBrokerId);
      return Promise.resolve(grpc === undefined ? undefined : { grpc });
    },
    supervision: () => undefined,
    close() {
      closed = true;
      for (const wake of [...waiters]) wake();
      return Promise.resolve();
    },
  };
}

export function isStaticProvisioner(provisioner: Provisioner): provisioner is StaticProvisioner {
  return provisioner.kind === 'static' && 'forget' in provisioner;
}
