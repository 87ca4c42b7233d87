/**
 * The broker aggregate's vocabulary: what one broker of this Region's registry is (state), what
 * may be asked of it (commands, imperative) and what happened to it (events, past tense). The
 * registry is the fold of the events (docs/style.md §2, §3).
 */

export type BrokerId = string & { readonly __brand: 'BrokerId' };
export const asBrokerId = (value: string): BrokerId => value as BrokerId;

export type DeploymentMode = 'SINGLE_INSTANCE' | 'ACTIVE_STANDBY_MULTI_AZ';
export type DataReplicationMode = 'NONE' | 'CRDR';
export type DataReplicationRole = 'PRIMARY' | 'REPLICA';
/** What DescribeBroker shows; DELETED brokers are no longer listed. */
export type BrokerState =
  | 'CREATION_IN_PROGRESS'
  | 'CREATION_FAILED'
  | 'RUNNING'
  | 'REBOOT_IN_PROGRESS'
  | 'CRITICAL_ACTION_REQUIRED'
  | 'DELETION_IN_PROGRESS'
  | 'DELETED';
/** Extension of DataReplicationMetadata; promotion sagas add the promotion states. */
export type ReplicationStatus =
  | 'PAIRING'
  | 'REPLICATING'
  | 'PROMOTION_IN_PROGRESS'
  | 'DEMOTION_IN_PROGRESS'
  | 'PROMOTED'
  | 'DEMOTED'
  | 'PAUSED'
  /** A broker whose counterpart was force-unpaired from it while it was away: fenced. */
  | 'FORCE_UNPAIRED';

export interface BrokerUser {
  readonly username: string;
  /**
   * The scrypt hash of the password (`scrypt$N$r$p$salt$key`), never the password: kept so that
   * users can be copied to a replica and re-created after a store loss; brokers store it as is.
   */
  readonly passwordHash: string;
  readonly consoleAccess: boolean;
  readonly groups: readonly string[];
  readonly replicationUser: boolean;
}

export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
}

export interface BrokerInstanceEndpoints {
  readonly instanceId: string;
  /** host:port each. */
  readonly stomp: string;
  readonly ws: string;
  readonly grpc: string;
  /**
   * BrokerAdminService's own port, open on every instance (the client ports open only on the
   * active one); absent when it shares `grpc` (static provisioning, older brokers).
   */
  readonly admin?: string;
}

/** Where the control plane administers an instance. */
export const adminAddress = (instance: BrokerInstanceEndpoints): string =>
  instance.admin ?? instance.grpc;

export interface Counterpart {
  readonly brokerId: string;
  readonly region: string;
}

/** DataReplicationMetadata.Promotion while a promotion of the pair runs. */
export interface PromotionProgress {
  readonly mode: 'SWITCHOVER' | 'FAILOVER';
  readonly step: string;
  /** ISO 8601. */
  readonly startedAt: string;
}

/** DataReplicationMetadata.DivergentTail of an old primary after a failover. */
export interface DivergentTailRecord {
  readonly eventCount: number;
  readonly firstSequence: bigint;
  readonly lastSequence: bigint;
  readonly destinations: readonly string[];
  readonly state: 'PENDING' | 'REPUBLISHED' | 'DISCARDED';
  /** The failover point F: the log generation and the last sequence the new primary applied. */
  readonly generation: bigint;
  readonly failoverSequence: bigint;
  readonly republishedMessages: number;
  /** The failover that found it. */
  readonly promotionId?: string;
}

/** The fields a create request fixes for the broker's life. */
export interface BrokerSpec {
  readonly brokerName: string;
  readonly engineType: 'ACTIVEMQ';
  readonly engineVersion: string;
  readonly hostInstanceType: string;
  readonly deploymentMode: DeploymentMode;
  readonly users: readonly BrokerUser[];
}

export interface BrokerAggregate {
  readonly exists: boolean;
  readonly brokerId: BrokerId;
  readonly brokerArn: string;
  readonly region: string;
  readonly spec: BrokerSpec;
  readonly state: BrokerState;
  /** Why the state is CREATION_FAILED or CRITICAL_ACTION_REQUIRED. */
  readonly stateReason: string | undefined;
  readonly createdAt: string;
  readonly creatorRequestId: string | undefined;
  readonly users: readonly BrokerUser[];
  /** The console-access user the control plane keeps on the broker for admin calls. */
  readonly adminUser: AdminCredentials;
  readonly instances: readonly BrokerInstanceEndpoints[];
  readonly dataReplicationMode: DataReplicationMode;
  /** Set until RebootBroker applies it. */
  readonly pendingDataReplicationMode: DataReplicationMode | undefined;
  readonly role: DataReplicationRole | undefined;
  readonly counterpart: Counterpart | undefined;
  readonly replicationStatus: ReplicationStatus | undefined;
  /** Grows with every promotion; fences the old primary. */
  readonly epoch: bigint;
  /** host:port of the replicator's gRPC while this broker is a replicating replica. */
  readonly replicatorGrpc: string | undefined;
  /** Set while a promotion of its pair runs. */
  readonly promotion: PromotionProgress | undefined;
  /** Set on an old primary whose replica failed over while it held events past F. */
  readonly divergentTail: DivergentTailRecord | undefined;
  /** The former counterparts this broker was force-unpaired from (they stay fenced). */
  readonly forceUnpairedFrom: readonly string[];
}

export type BrokerEvent =
  | {
      readonly type: 'BrokerCreationRequested';
      readonly brokerId: BrokerId;
      readonly brokerArn: string;
      readonly region: string;
      readonly spec: BrokerSpec;
      readonly adminUser: AdminCredentials;
      readonly creatorRequestId: string | undefined;
      /** Set for a replica: it is created paired with `primary`. */
      readonly replicaOf: Counterpart | undefined;
      readonly epoch: bigint;
      readonly at: string;
    }
  | {
      readonly type: 'BrokerCreated';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    }
  | { readonly type: 'BrokerCreationFailed'; readonly reason: string; readonly at: string }
  | { readonly type: 'ReplicaAttached'; readonly replica: Counterpart; readonly at: string }
  | {
      readonly type: 'PendingReplicationModeSet';
      readonly mode: DataReplicationMode;
      readonly at: string;
    }
  | { readonly type: 'BrokerRebootRequested'; readonly at: string }
  | {
      readonly type: 'BrokerRebooted';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    }
  | { readonly type: 'BrokerRebootFailed'; readonly reason: string; readonly at: string }
  | {
      readonly type: 'ReplicationStarted';
      readonly epoch: bigint;
      readonly replicatorGrpc: string | undefined;
      readonly at: string;
    }
  | { readonly type: 'BrokerUnpaired'; readonly at: string }
  | {
      readonly type: 'BrokerForceUnpaired';
      readonly formerCounterpart: Counterpart;
      readonly at: string;
    }
  | { readonly type: 'BrokerDeletionRequested'; readonly at: string }
  | { readonly type: 'BrokerDeleted'; readonly at: string }
  | { readonly type: 'UserCreated'; readonly user: BrokerUser; readonly at: string }
  | { readonly type: 'UserUpdated'; readonly user: BrokerUser; readonly at: string }
  | { readonly type: 'UserDeleted'; readonly username: string; readonly at: string }
  | {
      readonly type: 'PromotionStatusRecorded';
      readonly status: ReplicationStatus;
      readonly promotion: PromotionProgress | undefined;
      readonly at: string;
    }
  | {
      readonly type: 'DataReplicationRoleChanged';
      readonly role: DataReplicationRole;
      readonly counterpart: Counterpart;
      readonly epoch: bigint;
      readonly status: ReplicationStatus;
      readonly at: string;
    }
  | {
      readonly type: 'DivergentTailRecorded';
      readonly tail: DivergentTailRecord;
      readonly at: string;
    }
  | {
      readonly type: 'DivergentTailResolved';
      readonly state: 'REPUBLISHED' | 'DISCARDED';
      readonly republishedMessages: number;
      readonly at: string;
    }
  | {
      readonly type: 'BrokerInstancesRestarted';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    };

export interface UserChanges {
  /** A new password's scrypt hash. */
  readonly passwordHash?: string;
  readonly consoleAccess?: boolean;
  readonly groups?: readonly string[];
  readonly replicationUser?: boolean;
}

/** `at` is the command's time, passed in (the domain reads no clock). */
export type BrokerCommand =
  | {
      readonly type: 'RequestBrokerCreation';
      readonly brokerId: BrokerId;
      readonly brokerArn: string;
      readonly region: string;
      readonly spec: BrokerSpec;
      readonly adminUser: AdminCredentials;
      readonly creatorRequestId: string | undefined;
      readonly replicaOf: Counterpart | undefined;
      readonly at: string;
    }
  | {
      readonly type: 'RecordBrokerCreated';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    }
  | { readonly type: 'RecordBrokerCreationFailed'; readonly reason: string; readonly at: string }
  | { readonly type: 'AttachReplica'; readonly replica: Counterpart; readonly at: string }
  | {
      readonly type: 'SetPendingReplicationMode';
      readonly mode: DataReplicationMode;
      readonly at: string;
    }
  | { readonly type: 'RequestReboot'; readonly at: string }
  | {
      readonly type: 'RecordRebooted';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    }
  | { readonly type: 'RecordRebootFailed'; readonly reason: string; readonly at: string }
  | {
      readonly type: 'RecordReplicationStarted';
      readonly epoch: bigint;
      readonly replicatorGrpc: string | undefined;
      readonly at: string;
    }
  | { readonly type: 'Unpair'; readonly at: string }
  | { readonly type: 'ForceUnpair'; readonly at: string }
  | { readonly type: 'RequestDeletion'; readonly at: string }
  | { readonly type: 'RecordDeleted'; readonly at: string }
  | { readonly type: 'CreateUser'; readonly user: BrokerUser; readonly at: string }
  | {
      readonly type: 'UpdateUser';
      readonly username: string;
      readonly changes: UserChanges;
      readonly at: string;
    }
  | { readonly type: 'DeleteUser'; readonly username: string; readonly at: string }
  | {
      readonly type: 'RecordPromotionStatus';
      readonly status: ReplicationStatus;
      readonly promotion: PromotionProgress | undefined;
      readonly at: string;
    }
  | {
      readonly type: 'ChangeDataReplicationRole';
      readonly role: DataReplicationRole;
      readonly counterpart: Counterpart;
      readonly epoch: bigint;
      readonly status: ReplicationStatus;
      readonly at: string;
    }
  | {
      readonly type: 'RecordDivergentTail';
      readonly tail: DivergentTailRecord;
      readonly at: string;
    }
  | {
      readonly type: 'ResolveDivergentTail';
      readonly state: 'REPUBLISHED' | 'DISCARDED';
      readonly republishedMessages: number;
      readonly at: string;
    }
  | {
      readonly type: 'RecordInstancesRestarted';
      readonly instances: readonly BrokerInstanceEndpoints[];
      readonly at: string;
    };
