import { badRequest, type CrdrError } from '@crdr/errors';
import type {
  BrokerSpec,
  Counterpart,
  DataReplicationMode,
  DeploymentMode,
  UserChanges,
} from './broker.types.js';

/**
 * Amazon MQ's input rules, each failure a BadRequest naming the field (`details.field`) and the
 * rule, so `mqctl` prints what to fix.
 */

export const instanceTypes = [
  'mq.t3.micro',
  'mq.m5.large',
  'mq.m5.xlarge',
  'mq.m5.2xlarge',
  'mq.m5.4xlarge',
] as const;
export const deploymentModes: readonly DeploymentMode[] = [
  'SINGLE_INSTANCE',
  'ACTIVE_STANDBY_MULTI_AZ',
];

const invalid = (field: string, message: string): CrdrError =>
  badRequest(`invalid ${field}: ${message}`, { details: { field } });

/** Amazon MQ: 1-50 characters, letters, digits, dashes and underscores. */
const brokerNamePattern = /^[A-Za-z0-9_-]{1,50}$/;
const enginePattern = /^(\d+)\.(\d+)\.(\d+)$/;
/** Amazon MQ: letters, digits and `- . _ ~`, 2-100 characters. Groups follow the same rule. */
const userNamePattern = /^[A-Za-z0-9._~-]{2,100}$/;

export interface UserInputFields {
  readonly username: string;
  readonly password: string;
  readonly consoleAccess: boolean;
  readonly groups: readonly string[];
  readonly replicationUser: boolean;
}

export interface CreateBrokerInput {
  readonly brokerName: string;
  readonly engineType: string;
  readonly engineVersion: string;
  readonly hostInstanceType: string;
  readonly deploymentMode: string;
  readonly users: readonly UserInputFields[];
  readonly dataReplicationMode: string;
  readonly dataReplicationPrimaryBrokerArn: string;
}

/** A user as asked for, with its password: hashed before anything is recorded. */
export type ValidUserInput = UserInputFields;

/** A change as asked for, with the new password: hashed before anything is recorded. */
export interface UserChangeInput extends Omit<UserChanges, 'passwordHash'> {
  readonly password?: string;
}

export interface ValidCreateBroker {
  readonly spec: Omit<BrokerSpec, 'users'> & { readonly users: readonly ValidUserInput[] };
  readonly replicaOf: Counterpart | undefined;
}

export function checkUsername(username: string, field = 'username'): void {
  if (!userNamePattern.test(username)) {
    throw invalid(field, `"${username}" must be 2-100 characters of letters, digits and - . _ ~`);
  }
}

/** Amazon MQ's password rule for ActiveMQ; the message never repeats the password. */
export function checkPassword(password: string, field = 'password'): void {
  const characters = [...password];
  if (characters.length < 12) throw invalid(field, 'it must be at least 12 characters long');
  if (characters.length > 250) throw invalid(field, 'it must be at most 250 characters long');
  if (new Set(characters).size < 4) {
    throw invalid(field, 'it must contain at least 4 unique characters');
  }
  if (/[,:=]/.test(password)) {
    throw invalid(field, 'it must not contain commas, colons, or equal signs (, : =)');
  }
}

export function checkGroups(groups: readonly string[], field = 'groups'): void {
  for (const group of groups) {
    if (!userNamePattern.test(group)) {
      throw invalid(
        field,
        `group "${group}" must be 2-100 characters of letters, digits and - . _ ~`,
      );
    }
  }
}

export function validateUser(user: UserInputFields, field = 'users'): ValidUserInput {
  checkUsername(user.username, `${field}.username`);
  checkPassword(user.password, `${field}.password`);
  checkGroups(user.groups, `${field}.groups`);
  return {
    username: user.username,
    password: user.password,
    consoleAccess: user.consoleAccess,
    groups: [...user.groups],
    replicationUser: user.replicationUser,
  };
}

export function validateUserChanges(changes: UserChangeInput): UserChangeInput {
  if (changes.password !== undefined) checkPassword(changes.password);
  if (changes.groups !== undefined) checkGroups(changes.groups);
  return changes;
}

export function parseDataReplicationMode(
  value: string,
  field: string,
): DataReplicationMode | undefined {
  if (value === '') return undefined;
  if (value === 'NONE' || value === 'CRDR') return value;
  throw invalid(field, `"${value}" must be NONE or CRDR`);
}

export interface ParsedArn {
  readonly region: string;
  readonly brokerName: string;
  readonly brokerId: string;
}

/** `arn:mq:REGION:local:broker:NAME:ID`. */
export function brokerArn(region: string, brokerName: string, brokerId: string): string {
  return `arn:mq:${region}:local:broker:${brokerName}:${brokerId}`;
}

export function parseBrokerArn(arn: string, field: string): ParsedArn {
  const parts = arn.split(':');
  if (
    parts.length !== 7 ||
    parts[0] !== 'arn' ||
    parts[1] !== 'mq' ||
    parts[3] !== 'local' ||
    parts[4] !== 'broker' ||
    parts.slice(2).some((p) => p === '')
  ) {
    throw invalid(field, `"${arn}" is not a broker ARN (arn:mq:REGION:local:broker:NAME:ID)`);
  }
  return { region: parts[2]!, brokerName: parts[5]!, brokerId: parts[6]! };
}

/** Checks a CreateBroker request; the replica's primary is checked later, through its Region. */
export function validateCreateBroker(input: CreateBrokerInput, region: string): ValidCreateBroker {
  if (!brokerNamePattern.test(input.brokerName)) {
    throw invalid(
      'broker_name',
      `"${input.brokerName}" must be 1-50 characters of letters, digits, dashes and underscores`,
    );
  }
  if (input.engineType !== 'ACTIVEMQ') {
    throw invalid('engine_type', `"${input.engineType}" is not supported (use ACTIVEMQ)`);
  }
  if (!enginePattern.test(input.engineVersion)) {
    throw invalid('engine_version', `"${input.engineVersion}" must look like 5.18.4 (x.y.z)`);
  }
  if (!(instanceTypes as readonly string[]).includes(input.hostInstanceType)) {
    throw invalid(
      'host_instance_type',
      `"${input.hostInstanceType}" must be one of ${instanceTypes.join(', ')}`,
    );
  }
  if (!(deploymentModes as readonly string[]).includes(input.deploymentMode)) {
    throw invalid(
      'deployment_mode',
      `"${input.deploymentMode}" must be SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ`,
    );
  }
  if (input.users.length === 0) throw invalid('users', 'a broker needs at least one user');
  const users = input.users.map((u) => validateUser(u));
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.username))
      throw invalid('users.username', `user "${u.username}" is given twice`);
    seen.add(u.username);
  }
  const mode =
    parseDataReplicationMode(input.dataReplicationMode, 'data_replication_mode') ?? 'NONE';
  let replicaOf: Counterpart | undefined;
  if (mode === 'CRDR') {
    if (input.dataReplicationPrimaryBrokerArn === '') {
      throw invalid(
        'data_replication_primary_broker_arn',
        'a CRDR replica needs the primary broker ARN',
      );
    }
    const arn = parseBrokerArn(
      input.dataReplicationPrimaryBrokerArn,
      'data_replication_primary_broker_arn',
    );
    if (arn.region === region) {
      throw invalid(
        'data_replication_primary_broker_arn',
        `the primary must be in another Region than the replica (both in ${region})`,
      );
    }
    if (!users.some((u) => u.replicationUser)) {
      throw invalid('users', 'a CRDR replica needs a user with ReplicationUser=true');
    }
    replicaOf = { brokerId: arn.brokerId, region: arn.region };
  } else if (input.dataReplicationPrimaryBrokerArn !== '') {
    throw invalid(
      'data_replication_primary_broker_arn',
      'it is only allowed with data_replication_mode CRDR',
    );
  }
  return {
    spec: {
      brokerName: input.brokerName,
      engineType: 'ACTIVEMQ',
      engineVersion: input.engineVersion,
      hostInstanceType: input.hostInstanceType,
      deploymentMode: input.deploymentMode as DeploymentMode,
      users,
    },
    replicaOf,
  };
}

/** What eligibility looks at on the primary candidate. */
export interface PrimaryCandidate {
  readonly brokerId: string;
  readonly brokerState: string;
  readonly engineVersion: string;
  readonly hostInstanceType: string;
  readonly deploymentMode: string;
  readonly dataReplicationRole: string;
}

export const minimumCrdrEngineVersion = '5.17.6';

function versionAtLeast(version: string, minimum: string): boolean {
  const a = enginePattern.exec(version);
  const b = enginePattern.exec(minimum);
  if (a === null || b === null) return false;
  for (let i = 1; i <= 3; i += 1) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (x !== y) return x > y;
  }
  return true;
}

/** Every CRDR criterion the candidate fails, each naming the field and what it must be. */
export function primaryEligibilityFailures(candidate: PrimaryCandidate): string[] {
  const failures: string[] = [];
  if (!versionAtLeast(candidate.engineVersion, minimumCrdrEngineVersion)) {
    failures.push(
      `engine version ${candidate.engineVersion} is older than ${minimumCrdrEngineVersion}`,
    );
  }
  if (candidate.hostInstanceType === 'mq.t3.micro') {
    failures.push(
      `host instance type ${candidate.hostInstanceType} is too small (mq.m5.large or larger)`,
    );
  }
  if (candidate.deploymentMode !== 'ACTIVE_STANDBY_MULTI_AZ') {
    failures.push(`deployment mode ${candidate.deploymentMode} is not ACTIVE_STANDBY_MULTI_AZ`);
  }
  if (candidate.brokerState !== 'RUNNING') {
    failures.push(`broker state ${candidate.brokerState} is not RUNNING`);
  }
  if (candidate.dataReplicationRole !== '') {
    failures.push(`it is already paired (data replication role ${candidate.dataReplicationRole})`);
  }
  return failures;
}
