/** Flags several verbs share, spelled and described once. */
export const brokerIdFlag = {
  type: 'string',
  required: true,
  valueName: 'ID',
  description: 'The broker id (as create-broker and list-brokers print it).',
} as const;

export const usernameFlag = {
  type: 'string',
  required: true,
  valueName: 'NAME',
  description: 'The username.',
} as const;

export const maxResultsFlag = {
  type: 'integer',
  min: 1,
  max: 100,
  valueName: 'N',
  description: 'The most results in one page (1-100).',
} as const;

export const nextTokenFlag = {
  type: 'string',
  valueName: 'TOKEN',
  description: 'The NextToken of the previous page.',
} as const;

export const dataReplicationModes = ['NONE', 'CRDR'] as const;
export const deploymentModes = ['SINGLE_INSTANCE', 'ACTIVE_STANDBY_MULTI_AZ'] as const;
export const engineTypes = ['ACTIVEMQ'] as const;
export const promotionModes = ['SWITCHOVER', 'FAILOVER'] as const;
export const divergentTailActions = ['REPUBLISH', 'DISCARD'] as const;
