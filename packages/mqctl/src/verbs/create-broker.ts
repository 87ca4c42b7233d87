import { randomUUID } from 'node:crypto';
import { withRetry } from '@crdr/proto';
import { booleanField, parseStructure } from '../args/structure.js';
import { parseUsers } from '../args/users.js';
import { toBrokerDescription, toCreateBrokerResult } from '../aws-shape.js';
import { UsageError } from '../errors.js';
import { defineVerb } from '../verb.js';
import {
  defaultWaitTimeoutSeconds,
  waitFlag,
  waitForBroker,
  waitTimeoutFlag,
} from './broker-wait.js';
import { dataReplicationModes, deploymentModes, engineTypes } from './common-flags.js';

/*
 * The `aws mq create-broker` options AWS scripts carry that have no meaning on a local Region.
 * Each is accepted and checked (a malformed value is refused, as aws refuses it); why it does
 * not apply is said in its help line and in the README ("mqctl and aws scripts").
 */
const notApplicable = {
  'publicly-accessible': {
    type: 'boolean',
    negatable: true,
    description:
      'Accepted, no effect: brokers listen where the Region provisions them (no VPC, no public IP).',
  },
  'auto-minor-version-upgrade': {
    type: 'boolean',
    negatable: true,
    description: 'Accepted, no effect: there is one engine build here, so nothing to upgrade to.',
  },
  tags: {
    type: 'string',
    valueName: 'KEY=VALUE,...',
    skeleton: { KeyName: '' },
    description:
      'Accepted and checked, not stored: this control plane has no tagging API (list-tags, create-tags).',
  },
  'security-groups': {
    type: 'list',
    valueName: 'SG ...',
    description: 'Accepted, no effect: there is no VPC here; access is by broker users only.',
  },
  'subnet-ids': {
    type: 'list',
    valueName: 'SUBNET ...',
    description: 'Accepted, no effect: there is no VPC here; instances run on the Region host.',
  },
  'storage-type': {
    type: 'string',
    choices: ['EBS', 'EFS'],
    description: "Accepted, no effect: messages are stored in the Region's PostgreSQL.",
  },
  logs: {
    type: 'string',
    valueName: 'General=BOOL,Audit=BOOL',
    skeleton: { Audit: true, General: true },
    description:
      'Accepted, no effect: brokers always log to stderr (JSON lines); no CloudWatch Logs.',
  },
  'encryption-options': {
    type: 'string',
    valueName: 'UseAwsOwnedKey=BOOL[,KmsKeyId=ID]',
    skeleton: { KmsKeyId: '', UseAwsOwnedKey: true },
    description:
      "Accepted, no effect: there is no KMS; data at rest is as safe as the Region's PostgreSQL.",
  },
  'maintenance-window-start-time': {
    type: 'string',
    valueName: 'DayOfWeek=D,TimeOfDay=HH:MM[,TimeZone=TZ]',
    skeleton: { DayOfWeek: 'MONDAY', TimeOfDay: '', TimeZone: '' },
    description: 'Accepted, no effect: nothing is ever patched or rebooted behind your back here.',
  },
  configuration: {
    type: 'string',
    valueName: 'Id=ID,Revision=N',
    skeleton: { Id: '', Revision: 0 },
    description: 'Accepted, no effect: there is no configuration API; brokers use fixed settings.',
  },
  'authentication-strategy': {
    type: 'string',
    choices: ['SIMPLE', 'LDAP'],
    description:
      'SIMPLE (the broker users, the default and only one); LDAP is refused: no LDAP server here.',
  },
} as const;

const daysOfWeek = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];

/** Checks the options of `notApplicable`, so that a malformed value is refused as aws would. */
function checkNotApplicable(flags: {
  readonly tags?: string | undefined;
  readonly logs?: string | undefined;
  readonly 'encryption-options'?: string | undefined;
  readonly 'maintenance-window-start-time'?: string | undefined;
  readonly configuration?: string | undefined;
  readonly 'authentication-strategy'?: string | undefined;
}): void {
  if (flags['authentication-strategy'] === 'LDAP') {
    throw new UsageError(
      '--authentication-strategy LDAP is not supported: there is no LDAP server here; use SIMPLE (the broker users)',
    );
  }
  if (flags.tags !== undefined) parseStructure('tags', flags.tags, undefined);
  if (flags.logs !== undefined) {
    const logs = parseStructure('logs', flags.logs, ['General', 'Audit']);
    booleanField('logs', 'General', logs['General']);
    booleanField('logs', 'Audit', logs['Audit']);
  }
  const encryption = flags['encryption-options'];
  if (encryption !== undefined) {
    const options = parseStructure('encryption-options', encryption, [
      'UseAwsOwnedKey',
      'KmsKeyId',
    ]);
    if (
      booleanField('encryption-options', 'UseAwsOwnedKey', options['UseAwsOwnedKey']) === undefined
    ) {
      throw new UsageError('--encryption-options needs UseAwsOwnedKey=true|false');
    }
  }
  const window = flags['maintenance-window-start-time'];
  if (window !== undefined) {
    const fields = parseStructure('maintenance-window-start-time', window, [
      'DayOfWeek',
      'TimeOfDay',
      'TimeZone',
    ]);
    const day = String(fields['DayOfWeek'] ?? '').toUpperCase();
    if (!daysOfWeek.includes(day)) {
      throw new UsageError(
        `--maintenance-window-start-time: DayOfWeek must be one of ${daysOfWeek.join(', ')}`,
      );
    }
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(String(fields['TimeOfDay'] ?? ''))) {
      throw new UsageError('--maintenance-window-start-time: TimeOfDay must be HH:MM (24 h)');
    }
  }
  if (flags.configuration !== undefined) {
    const configuration = parseStructure('configuration', flags.configuration, ['Id', 'Revision']);
    if (configuration['Id'] === undefined || String(configuration['Id']).length === 0) {
      throw new UsageError('--configuration needs Id=ID');
    }
  }
}

export const createBroker = defineVerb({
  name: 'create-broker',
  summary: 'Create a broker, or (with --data-replication-mode CRDR) the replica of a primary.',
  details:
    'A replica is created in its own Region (--region) from the primary ARN, and needs a user with ReplicationUser=true. Without --creator-request-id a fresh token is sent, so a retried call cannot create two brokers.',
  flags: {
    'broker-name': {
      type: 'string',
      required: true,
      valueName: 'NAME',
      description: 'The broker name.',
    },
    'engine-type': {
      type: 'string',
      required: true,
      choices: engineTypes,
      description: 'The engine.',
    },
    'engine-version': {
      type: 'string',
      required: true,
      valueName: 'VERSION',
      description: 'The engine version, e.g. 5.18.4 (CRDR needs 5.17.6 or later).',
    },
    'host-instance-type': {
      type: 'string',
      required: true,
      valueName: 'TYPE',
      description: 'mq.t3.micro, mq.m5.large, mq.m5.xlarge, mq.m5.2xlarge or mq.m5.4xlarge.',
    },
    'deployment-mode': {
      type: 'string',
      required: true,
      choices: deploymentModes,
      description: 'One instance, or an active and a standby instance.',
    },
    users: {
      type: 'list',
      required: true,
      valueName: 'Username=U,Password=P[,ConsoleAccess=true][,ReplicationUser=true]',
      description:
        'The broker users: several after one --users, --users repeated, or a JSON array.',
    },
    'data-replication-mode': {
      type: 'string',
      choices: dataReplicationModes,
      description: 'CRDR to create a replica of --data-replication-primary-broker-arn.',
    },
    'data-replication-primary-broker-arn': {
      type: 'string',
      valueName: 'ARN',
      description: 'The primary broker of the replica (arn:mq:REGION:local:broker:NAME:ID).',
    },
    'creator-request-id': {
      type: 'string',
      valueName: 'TOKEN',
      description:
        'Idempotency token: a retried create with the same token returns the same broker.',
    },
    wait: waitFlag,
    'wait-timeout-seconds': waitTimeoutFlag,
    ...notApplicable,
  },
  examples: [
    'mqctl create-broker --broker-name orders --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode ACTIVE_STANDBY_MULTI_AZ --users Username=admin,Password=admin-secret,ConsoleAccess=true',
    'mqctl create-broker --broker-name orders --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode SINGLE_INSTANCE --no-publicly-accessible --auto-minor-version-upgrade --tags team=payments --users Username=admin,Password=admin-secret --wait --query BrokerState --output text',
    'mqctl --region region-b create-broker --broker-name orders-replica --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode ACTIVE_STANDBY_MULTI_AZ --users Username=admin,Password=admin-secret Username=repl,Password=repl-secret-1,ReplicationUser=true --data-replication-mode CRDR --data-replication-primary-broker-arn arn:mq:region-a:local:broker:orders:ID',
  ],
  async run(flags, context) {
    checkNotApplicable(flags);
    const users = parseUsers(flags.users);
    if (users.length === 0) throw new UsageError('--users needs at least one user');
    const replica = flags['data-replication-mode'] === 'CRDR';
    const primaryArn = flags['data-replication-primary-broker-arn'];
    if (replica && primaryArn === undefined) {
      throw new UsageError(
        '--data-replication-mode CRDR needs --data-replication-primary-broker-arn ARN',
      );
    }
    if (!replica && primaryArn !== undefined) {
      throw new UsageError(
        '--data-replication-primary-broker-arn is only for a replica (--data-replication-mode CRDR)',
      );
    }
    // The token makes the call idempotent, so retrying it after a lost answer is safe.
    const creatorRequestId = flags['creator-request-id'] ?? randomUUID();
    const controlPlane = context.controlPlane();
    const response = await withRetry(() =>
      controlPlane.createBroker({
        brokerName: flags['broker-name'],
        engineType: flags['engine-type'],
        engineVersion: flags['engine-version'],
        hostInstanceType: flags['host-instance-type'],
        deploymentMode: flags['deployment-mode'],
        users: users.map((user) => ({
          username: user.username,
          password: user.password,
          consoleAccess: user.consoleAccess,
          groups: [...user.groups],
          replicationUser: user.replicationUser,
        })),
        dataReplicationMode: flags['data-replication-mode'] ?? '',
        dataReplicationPrimaryBrokerArn: primaryArn ?? '',
        creatorRequestId,
      }),
    );
    if (flags.wait !== true) return toCreateBrokerResult(response);
    const broker = await waitForBroker({
      brokerId: response.brokerId,
      what: 'creation',
      timeoutMs: (flags['wait-timeout-seconds'] ?? defaultWaitTimeoutSeconds) * 1000,
      describe: () => withRetry(() => controlPlane.describeBroker({ brokerId: response.brokerId })),
      context,
    });
    return toBrokerDescription(broker);
  },
});
