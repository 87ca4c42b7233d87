/** The flags create-user and update-user share, as `aws mq` spells them. */
export const consoleAccessFlag = {
  type: 'boolean',
  negatable: true,
  description: 'Whether the user may use the web console (--no-console-access: may not).',
} as const;

export const groupsFlag = {
  type: 'list',
  valueName: 'GROUP ...',
  description: 'The groups of the user (several values after one --groups).',
} as const;

export const replicationUserFlag = {
  type: 'boolean',
  negatable: true,
  description: "Whether this is the replica's replication user (--no-replication-user: is not).",
} as const;
