export { createTestDatabase, type TestDatabase } from './test-database.js';
export { freePort } from './free-port.js';
export {
  builtServiceEntry,
  hostPort,
  nodeArgsFor,
  repoRoot,
  startServiceProcess,
  type ServiceProcess,
  type StartServiceOptions,
} from './service-process.js';
export { minimumWaitMs, patientTimeoutMs, waitFor } from './wait-for.js';
export { createTestPki, type TestCa, type TestCertificate, type TestPki } from './test-pki.js';
export {
  renderNatsConfig,
  type NatsConfigBlock,
  type NatsPermissions,
  type NatsSubjectPermission,
  type NatsUser,
} from './nats-config.js';
export {
  startNatsServer,
  type NatsServerHandle,
  type NatsServerOptions,
  type NatsServerTlsOptions,
} from './nats-server.js';
export {
  replicationUserPermissions,
  replicationUserWildcardPermissions,
  type ReplicationPermissionOptions,
} from './replication-permissions.js';
export {
  startTcpProxy,
  type TcpProxy,
  type TcpProxyCutOptions,
  type TcpProxyOptions,
} from './tcp-proxy.js';
export {
  startPostgresServer,
  type PostgresServerHandle,
  type PostgresServerOptions,
} from './postgres-server.js';
export {
  renderActiveMqXml,
  startActiveMq,
  type ActiveMqHandle,
  type ActiveMqOptions,
} from './activemq.js';
