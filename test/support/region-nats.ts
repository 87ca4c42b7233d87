import {
  replicationUserWildcardPermissions,
  startNatsServer,
  type NatsServerHandle,
  type TestPki,
} from '@crdr/testing';

/** The inbox prefix the replication users may subscribe under. */
export const replicationInboxPrefix = '_INBOX_crdr';

export type RegionLetter = 'a' | 'b';

/**
 * One nats-server per Region, as a control plane expects it: mutual TLS with the test PKI, a
 * relay user `relay-<r>` (the brokers' relays, and the control plane managing streams and
 * consumers) and a read-only replication user `replication-<r>` for the peer's replicators.
 */
export async function startRegionNatsServers(
  pki: TestPki,
): Promise<[NatsServerHandle, NatsServerHandle]> {
  const tls = { cert: pki.server.certPath, key: pki.server.keyPath, ca: pki.ca.certPath };
  const permissions = replicationUserWildcardPermissions({ inboxPrefix: replicationInboxPrefix });
  const start = (r: RegionLetter) =>
    startNatsServer({
      serverName: `region-${r}`,
      tls,
      users: [
        { user: `relay-${r}`, password: `relay-${r}-secret` },
        { user: `replication-${r}`, password: `replication-${r}-secret`, permissions },
      ],
    });
  const started = await Promise.allSettled([start('a'), start('b')]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    for (const s of started) if (s.status === 'fulfilled') await s.value.cleanup();
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<NatsServerHandle>).value) as [
    NatsServerHandle,
    NatsServerHandle,
  ];
}

/** A control plane's CONTROL_PLANE_NATS_* and CONTROL_PLANE_REPLICATION_* for Region `r`. */
export function controlPlaneNatsEnv(
  r: RegionLetter,
  nats: NatsServerHandle,
  pki: TestPki,
): Record<string, string> {
  return {
    CONTROL_PLANE_NATS_URL: nats.url,
    CONTROL_PLANE_NATS_USER: `relay-${r}`,
    CONTROL_PLANE_NATS_PASSWORD: `relay-${r}-secret`,
    CONTROL_PLANE_NATS_TLS_CA: pki.ca.certPath,
    CONTROL_PLANE_NATS_TLS_CERT: pki.client.certPath,
    CONTROL_PLANE_NATS_TLS_KEY: pki.client.keyPath,
    CONTROL_PLANE_REPLICATION_USER: `replication-${r}`,
    CONTROL_PLANE_REPLICATION_PASSWORD: `replication-${r}-secret`,
    CONTROL_PLANE_REPLICATION_INBOX_PREFIX: replicationInboxPrefix,
  };
}
