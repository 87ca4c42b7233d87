import { randomUUID } from 'node:crypto';
import { withRetry } from '@crdr/proto';
import { parseUsers } from '../args/users.js';
import { toCreateBrokerResult } from '../aws-shape.js';
import { UsageError } from '../errors.js';
import { defineVerb } from '../verb.js';
import { dataReplicationModes, deploymentModes, engineTypes } from './common-flags.js';

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
  },
  examples: [
    'mqctl create-broker --broker-name orders --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode ACTIVE_STANDBY_MULTI_AZ --users Username=admin,Password=admin-secret,ConsoleAccess=true',
    'mqctl --region region-b create-broker --broker-name orders-replica --engine-type ACTIVEMQ --engine-version 5.18.4 --host-instance-type mq.m5.large --deployment-mode ACTIVE_STANDBY_MULTI_AZ --users Username=admin,Password=admin-secret Username=repl,Password=repl-secret,ReplicationUser=true --data-replication-mode CRDR --data-replication-primary-broker-arn arn:mq:region-a:local:broker:orders:ID',
  ],
  async run(flags, context) {
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
    return toCreateBrokerResult(response);
  },
});
