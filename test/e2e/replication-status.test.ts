import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMqctl } from '../../packages/mqctl/src/mqctl-process.test-helper.js';
import { createClient, loadProto } from '@crdr/proto';
import { dropDatabase } from '@crdr/store';
import { startServiceProcess, waitFor, type ServiceProcess } from '@crdr/testing';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  createPair,
  sendAll,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegion,
  type PromotionRegions,
} from '../support/promotion-regions.js';

// Issue 11 items 5-7 end to end, through the control planes' API and the metrics services that
// read them (local provisioner, real brokers, replicators, TLS nats-servers): DescribeBroker and
// crdr_replication_status show PAUSED while an operator paused the replicator and STALLED while
// it does not answer (frozen with SIGSTOP, which no supervisor undoes), each with a reason, and
// go back to REPLICATING by themselves; the lags grow all along; and a switchover succeeds after
// reboots of either broker.

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;
const metrics: Record<'a' | 'b', ServiceProcess | undefined> = { a: undefined, b: undefined };
const metricsDbs: string[] = [];
const frozen: number[] = [];

const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;
const reason = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatusReason;
const role = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationRole;

async function startMetrics(region: PromotionRegion): Promise<ServiceProcess> {
  const base = new URL(process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/metrics_${randomBytes(6).toString('hex')}`;
  metricsDbs.push(base.toString());
  return startServiceProcess({
    entry: 'services/metrics/src/main.ts',
    env: {
      METRICS_REGION: region.name,
      METRICS_DB_URL: base.toString(),
      METRICS_INTERVAL_MS: '500',
      METRICS_HTTP_PORT: '0',
      METRICS_GRPC_PORT: '0',
      METRICS_CONTROL_PLANE: region.address,
      LOG_LEVEL: 'warn',
    },
  });
}

/** The latest value of a family for one broker on a metrics service's /metrics. */
async function latest(
  service: ServiceProcess,
  family: string,
  broker: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | undefined> {
  const response = await fetch(`${service.endpoints['http']!}/metrics`);
  const found = parsePrometheusTextFormat(await response.text()).find((f) => f.name === family);
  const sample = found?.metrics.find(
    (m) =>
      m.labels?.['broker'] === broker &&
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return sample === undefined ? undefined : Number(sample.value);
}

async function until(
  service: ServiceProcess,
  family: string,
  broker: string,
  accept: (value: number) => boolean,
  what: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  let value: number | undefined;
  await waitFor(
    async () => {
      value = await latest(service, family, broker, labels);
      return value !== undefined && accept(value);
    },
    `${family} of ${broker} ${what} (last: ${value})`,
    60_000,
    250,
  );
  return value!;
}

const untilStatusGauge = (service: ServiceProcess, broker: string, shown: string) =>
  until(service, 'crdr_replication_status', broker, (v) => v === 1, `is ${shown}`, {
    status: shown,
  });

async function waitSameDigest(): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const [p, r] = await Promise.all([regions.a.digest(primaryId), regions.b.digest(replicaId)]);
      last = { p, r };
      return p.digest === r.digest && p.sequence === r.sequence;
    },
    'equal state digests on both sides',
    60_000,
    250,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(last)}`, { cause: error });
  });
}

async function replicatorClient(region: PromotionRegion, brokerId: string) {
  let endpoint = '';
  await waitFor(
    async () => {
      const { targets } = await region.internal.listTargets({});
      endpoint = targets.find((t) => t.brokerId === brokerId)?.replicatorGrpcEndpoint ?? '';
      return endpoint !== '';
    },
    `the replicator of ${brokerId} listed`,
    60_000,
    250,
  );
  return createClient(loadProto().crdr.replicator.v1.ReplicatorService, endpoint);
}

/** The pid of the replicator the local provisioner started for `brokerId` (checked by token). */
async function replicatorPid(region: PromotionRegion, brokerId: string): Promise<number> {
  const dir = join(region.stateDir, 'processes');
  for (const file of await readdir(dir)) {
    if (file !== `replicator.${brokerId}.json`) continue;
    const record = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
      pid: number;
      token: string;
    };
    const environ = await readFile(`/proc/${record.pid}/environ`, 'utf8').catch(() => '');
    if (environ.includes(record.token)) return record.pid;
  }
  throw new Error(`no running replicator recorded for ${brokerId} in ${dir}`);
}

beforeAll(async () => {
  regions = await startPromotionRegions('rstatus');
  ({ primaryId, replicaId } = await createPair(regions, 'status'));
  [metrics.a, metrics.b] = await Promise.all([startMetrics(regions.a), startMetrics(regions.b)]);
  await waitSameDigest();
}, 600_000);

afterAll(async () => {
  for (const pid of frozen) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone already.
    }
  }
  await Promise.all([metrics.a?.kill('SIGTERM'), metrics.b?.kill('SIGTERM')]);
  await regions?.stop();
  for (const url of metricsDbs) await dropDatabase(url).catch(() => undefined);
}, 120_000);

describe('replication status and lag that tell the truth', () => {
  it('has both lag series at 0 and REPLICATING from the moment the pair replicates', async () => {
    await until(metrics.b!, 'crdr_replication_lag_seconds', replicaId, (v) => v === 0, 'is 0');
    await until(
      metrics.a!,
      'crdr_total_replication_lag_seconds',
      primaryId,
      (v) => v === 0,
      'is 0',
    );
    await untilStatusGauge(metrics.b!, replicaId, 'REPLICATING');
    await untilStatusGauge(metrics.a!, primaryId, 'REPLICATING');
  }, 600_000);

  it('shows PAUSED with a reason while the replicator is paused, the lags growing; REPLICATING once resumed', async () => {
    const replicator = await replicatorClient(regions.b, replicaId);
    try {
      await replicator.pause({});
      const primary = await regions.a.describe(primaryId);
      await sendAll(stompEndpoints(primary), '/queue/Paused', ['p-0', 'p-1', 'p-2']);

      const paused = await regions.b.waitForBroker(
        replicaId,
        (d) => status(d) === 'PAUSED',
        'PAUSED',
        60_000,
      );
      expect(reason(paused)).toMatch(/paused the replicator/);
      // The primary's Region learns it from the replica's.
      const primaryPaused = await regions.a.waitForBroker(
        primaryId,
        (d) => status(d) === 'PAUSED',
        'PAUSED on the primary too',
        60_000,
      );
      expect(reason(primaryPaused)).toMatch(/paused the replicator/);
      const described = await runMqctl([
        '--region',
        'region-b',
        '--endpoint-url',
        regions.b.address,
        '--output',
        'json',
        'describe-broker',
        '--broker-id',
        replicaId,
      ]);
      expect(described.exitCode, described.stderr).toBe(0);
      const printed = JSON.parse(described.stdout) as {
        DataReplicationMetadata: { ReplicationStatus: string; ReplicationStatusReason?: string };
      };
      expect(printed.DataReplicationMetadata.ReplicationStatus).toBe('PAUSED');
      expect(printed.DataReplicationMetadata.ReplicationStatusReason).toMatch(/paused/);

      await untilStatusGauge(metrics.b!, replicaId, 'PAUSED');
      const lag = await until(
        metrics.b!,
        'crdr_replication_lag_seconds',
        replicaId,
        (v) => v >= 1,
        'past 1 s while paused',
      );
      await until(
        metrics.b!,
        'crdr_replication_lag_seconds',
        replicaId,
        (v) => v >= lag + 1,
        `growing while paused (from ${lag} s)`,
      );
      const total = await until(
        metrics.a!,
        'crdr_total_replication_lag_seconds',
        primaryId,
        (v) => v >= 1,
        'past 1 s while the replica is paused',
      );
      await until(
        metrics.a!,
        'crdr_total_replication_lag_seconds',
        primaryId,
        (v) => v >= total + 1,
        `growing while the replica is paused (from ${total} s)`,
      );
    } finally {
      await replicator.resume({});
      replicator.close();
    }
    await regions.b.waitForBroker(
      replicaId,
      (d) => status(d) === 'REPLICATING' && !reason(d),
      'REPLICATING again, without a reason',
      60_000,
    );
    await regions.a.waitForBroker(
      primaryId,
      (d) => status(d) === 'REPLICATING',
      'REPLICATING again on the primary',
      60_000,
    );
    await until(metrics.b!, 'crdr_replication_lag_seconds', replicaId, (v) => v === 0, 'back to 0');
    await untilStatusGauge(metrics.b!, replicaId, 'REPLICATING');
    await waitSameDigest();
  }, 600_000);

  it('shows STALLED while the replicator does not answer, the replica lag measured from the primary; REPLICATING once it answers', async () => {
    const pid = await replicatorPid(regions.b, replicaId);
    process.kill(pid, 'SIGSTOP');
    frozen.push(pid);
    try {
      const primary = await regions.a.describe(primaryId);
      await sendAll(stompEndpoints(primary), '/queue/Stalled', ['s-0', 's-1', 's-2']);
      const stalled = await regions.b.waitForBroker(
        replicaId,
        (d) => status(d) === 'STALLED',
        'STALLED',
        60_000,
      );
      expect(reason(stalled)).toMatch(/replicator does not answer/);
      // No acknowledgement for 10 s: the primary's side shows the stall by itself too.
      await regions.a.waitForBroker(
        primaryId,
        (d) => status(d) === 'STALLED' && (reason(d) ?? '') !== '',
        'STALLED on the primary',
        60_000,
      );
      await untilStatusGauge(metrics.b!, replicaId, 'STALLED');
      // The replica's series stays while its replicator cannot answer, and grows.
      const lag = await until(
        metrics.b!,
        'crdr_replication_lag_seconds',
        replicaId,
        (v) => v >= 1,
        'present and past 1 s while the replicator does not answer',
      );
      await until(
        metrics.b!,
        'crdr_replication_lag_seconds',
        replicaId,
        (v) => v >= lag + 1,
        `growing while the replicator does not answer (from ${lag} s)`,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
      frozen.splice(frozen.indexOf(pid), 1);
    }
    await regions.b.waitForBroker(
      replicaId,
      (d) => status(d) === 'REPLICATING',
      'REPLICATING again',
      60_000,
    );
    await regions.a.waitForBroker(
      primaryId,
      (d) => status(d) === 'REPLICATING',
      'REPLICATING again on the primary',
      60_000,
    );
    await until(metrics.b!, 'crdr_replication_lag_seconds', replicaId, (v) => v === 0, 'back to 0');
    await waitSameDigest();
  }, 600_000);

  it('switches over after reboots of the replica and of the primary (issue 11 item 5)', async () => {
    const replicating = (d: DescribedBroker) =>
      d.brokerState === (role(d) === 'REPLICA' ? 'REPLICA' : 'RUNNING') &&
      status(d) === 'REPLICATING';
    await regions.b.client.rebootBroker({ brokerId: replicaId });
    await regions.b.waitForBroker(replicaId, replicating, 'replicating after its reboot', 120_000);
    await regions.a.client.rebootBroker({ brokerId: primaryId });
    await regions.a.waitForBroker(primaryId, replicating, 'replicating after its reboot', 120_000);
    await regions.b.client.rebootBroker({ brokerId: replicaId });
    await regions.b.waitForBroker(
      replicaId,
      replicating,
      'replicating after a second reboot',
      120_000,
    );
    const primary = await regions.a.describe(primaryId);
    await sendAll(stompEndpoints(primary), '/queue/AfterReboots', ['r-0', 'r-1', 'r-2']);
    await waitSameDigest();

    await regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' });
    const promoted = await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'PRIMARY and PROMOTED',
      120_000,
    );
    expect(promoted.brokerStateReason).toBe('');
    await regions.a.waitForBroker(
      primaryId,
      (d) => role(d) === 'REPLICA' && status(d) === 'REPLICATING',
      'the replica of b',
      120_000,
    );
    const b = await regions.b.describe(replicaId);
    await sendAll(stompEndpoints(b), '/queue/AfterReboots', ['r-3']);
    await waitSameDigest();

    // Roles reversed: reboot the new replica and the new primary, and switch back.
    await regions.a.client.rebootBroker({ brokerId: primaryId });
    await regions.a.waitForBroker(primaryId, replicating, 'the new replica rebooted', 120_000);
    await regions.b.client.rebootBroker({ brokerId: replicaId });
    await regions.b.waitForBroker(
      replicaId,
      (d) => d.brokerState === 'RUNNING' && role(d) === 'PRIMARY',
      'the new primary rebooted',
      120_000,
    );
    await waitSameDigest();
    await regions.a.client.promote({ brokerId: primaryId, mode: 'SWITCHOVER' });
    await regions.a.waitForBroker(
      primaryId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED',
      'PRIMARY again',
      120_000,
    );
    await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'REPLICA' && status(d) === 'REPLICATING',
      'the replica of a again',
      120_000,
    );
    await waitSameDigest();
  }, 600_000);
});
