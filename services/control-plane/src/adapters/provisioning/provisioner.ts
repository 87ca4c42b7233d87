import type { SupervisionStatus } from './local-supervisor.js';

/**
 * Provisioning: how a control plane gets broker and replicator processes running. Two kinds:
 * `local` starts child processes on this machine (the stack launcher, tests) and re-adopts the
 * ones still running after a control-plane restart; `static` accepts brokers started by
 * docker-compose or Kubernetes, which register themselves with their broker id.
 *
 * Every method is idempotent: starting what already runs adopts it, stopping what is gone is a
 * no-op. Sagas rely on that to resume after a control-plane crash.
 */
export interface BrokerProcessSpec {
  readonly brokerId: string;
  readonly brokerName: string;
  readonly region: string;
  readonly deploymentMode: 'SINGLE_INSTANCE' | 'ACTIVE_STANDBY_MULTI_AZ';
  readonly hostInstanceType: string;
  /** The broker's own store (created and migrated by the broker itself if missing). */
  readonly dbUrl: string;
  /** Extra environment for every instance: BROKER_NATS_*, BROKER_USERS, BROKER_INITIAL_ROLE... */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The endpoints each instance keeps for the broker's whole life (from the control plane's
   * store); absent at creation, when the provisioner gives them out.
   */
  readonly instances?: readonly {
    readonly instanceId: string;
    readonly stomp: string;
    readonly ws: string;
    readonly grpc: string;
    readonly admin?: string;
  }[];
}

export interface BrokerInstanceInfo {
  /** `<brokerId>-1`, `<brokerId>-2`. */
  readonly instanceId: string;
  /** host:port each. */
  readonly stomp: string;
  readonly ws: string;
  readonly grpc: string;
  /** BrokerAdminService's own port, open on standbys too; absent when it shares `grpc`. */
  readonly admin?: string;
  readonly pid?: number;
}

export interface ReplicatorProcessSpec {
  readonly replicaBrokerId: string;
  readonly primaryBrokerId: string;
  /** REPLICATOR_* environment: DB URL, the primary Region's NATS URL, user, TLS files. */
  readonly env: Readonly<Record<string, string>>;
  /** host:port it keeps (recorded by the control plane); absent the first time. */
  readonly grpc?: string;
}

export interface ReplicatorInfo {
  /** host:port of its ReplicatorService. */
  readonly grpc: string;
  readonly pid?: number;
}

export interface Provisioner {
  readonly kind: 'local' | 'static';
  /** Starts the broker's instances (two for ACTIVE_STANDBY_MULTI_AZ), or adopts running ones. */
  startBroker(spec: BrokerProcessSpec): Promise<readonly BrokerInstanceInfo[]>;
  /** SIGTERM (graceful) or SIGKILL; waits until the processes are gone. */
  stopBroker(brokerId: string, options?: { readonly graceful?: boolean }): Promise<void>;
  /** The running instances, or [] when none runs. */
  brokerInstances(brokerId: string): Promise<readonly BrokerInstanceInfo[]>;
  startReplicator(spec: ReplicatorProcessSpec): Promise<ReplicatorInfo>;
  stopReplicator(replicaBrokerId: string, options?: { readonly graceful?: boolean }): Promise<void>;
  replicator(replicaBrokerId: string): Promise<ReplicatorInfo | undefined>;
  /**
   * Starts again (or adopts) the replicator last started and not stopped, with the spec it was
   * started with; undefined when there is none (a control-plane start).
   */
  resumeReplicator(replicaBrokerId: string): Promise<ReplicatorInfo | undefined>;
  /** What the supervisor knows of a broker's instances or a replicator; undefined when unwatched. */
  supervision(kind: 'broker' | 'replicator', id: string): SupervisionStatus | undefined;
  /** Stops watching children without stopping them (a control-plane shutdown). */
  close(): Promise<void>;
}
