import { badRequest, deadlineExceeded, failedPrecondition } from '@crdr/errors';
import type { BrokerInstanceInfo, Provisioner } from './provisioner.js';

export interface StaticProvisionerOptions {
  /** How long startBroker waits for the instances to register, in ms. */
  readonly registerTimeoutMs: number;
}

/** A provisioner whose brokers are started elsewhere and register (RegisterBrokerInstance). */
export interface StaticProvisioner extends Provisioner {
  /** An instance announced itself; replaces an earlier registration of the same instance. */
  register(brokerId: string, instance: BrokerInstanceInfo): void;
}

/**
 * The `static` provisioner: brokers started by docker-compose or Kubernetes under the broker id
 * the control plane assigned register their endpoints; startBroker waits for as many instances as
 * the deployment mode needs. Replicators are not started here: with static provisioning the
 * deployment runs them, so pairing needs the local provisioner. Registrations are kept in memory:
 * instances re-register when the control plane restarts (they call RegisterBrokerInstance at
 * start and may repeat it).
 */
export function createStaticProvisioner(options: StaticProvisionerOptions): StaticProvisioner {
  const instances = new Map<string, Map<string, BrokerInstanceInfo>>();
  const waiters = new Set<() => void>();
  let closed = false;

  const current = (brokerId: string): BrokerInstanceInfo[] =>
    [...(instances.get(brokerId)?.values() ?? [])].sort((a, b) =>
      a.instanceId.localeCompare(b.instanceId),
    );

  const unsupported = (what: string) =>
    failedPrecondition(
      `${what} needs CONTROL_PLANE_PROVISIONER=local: with static provisioning the deployment runs replicators`,
    );

  return {
    kind: 'static',
    register(brokerId, instance) {
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(brokerId)) {
        throw badRequest(`invalid broker_id "${brokerId}"`, { details: { field: 'broker_id' } });
      }
      const byInstance = instances.get(brokerId) ?? new Map<string, BrokerInstanceInfo>();
      byInstance.set(instance.instanceId, instance);
      instances.set(brokerId, byInstance);
      for (const wake of [...waiters]) wake();
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
              `registered within ${options.registerTimeoutMs} ms`,
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
      return current(spec.brokerId).slice(0, wanted);
    },
    // The deployment owns the processes and restarts them; a reboot keeps their registration.
    stopBroker: () => Promise.resolve(),
    brokerInstances: (brokerId) => Promise.resolve(current(brokerId)),
    startReplicator: () => Promise.reject(unsupported('starting a replicator')),
    stopReplicator: () => Promise.resolve(),
    replicator: () => Promise.resolve(undefined),
    close() {
      closed = true;
      for (const wake of [...waiters]) wake();
      return Promise.resolve();
    },
  };
}
