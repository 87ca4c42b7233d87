import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPort, waitFor } from '@crdr/testing';
import { expectFaultHealed } from '../support/fault-checks.js';
import {
  alive,
  connectFailover,
  createPair,
  expectAllReplicated,
  healthyPrimary,
  healthyReplica,
  recordedPid,
  replicating,
  startFaultStack,
  startProducer,
  type Described,
  type FaultStack,
  type Pair,
} from '../support/fault-stack.js';
import { regionDownUp, replicatorKill } from '../support/stack-faults.js';

/*
 * Issue 11 (supervision) and issue 13 (stable endpoints, standbys that do not listen) on the
 * stack users run: started by the same launcher as `pnpm stack up`, the pair made through the
 * control planes' public API, messages sent by a real STOMP client. The processes are the
 * control plane's (local provisioner); the faults are real: kill -9, a Region down and up. The
 * replicator's kill and the Region's outage end with the checks every fault case shares
 * (`expectFaultHealed`: all receipted messages on the replica with equal digests, STALLED with a
 * reason meanwhile, a growing lag, REPLICATING at lag 0 with no operator action).
 */

const queue = '/queue/supervised';
let stack: FaultStack;
let pair: Pair;

const endpointsOf = (b: Described) => b.brokerInstances.map((i) => [...i.endpoints].sort());

/** Whether anything accepts a TCP connection at `scheme://host:port`. */
function listening(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(hostPort(endpoint));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Sends `n` persistent messages with receipts to the primary; then all must replicate. */
async function sendAndReplicate(n: number): Promise<void> {
  const producer = startProducer(stack, pair.primaryId, queue, 10);
  try {
    await producer.waitForReceipts(n);
  } finally {
    await expectAllReplicated(stack, pair, await producer.stop());
  }
}

beforeAll(async () => {
  stack = await startFaultStack();
}, 300_000);

afterAll(async () => {
  await stack?.stop();
}, 300_000);

describe('the processes the control plane provisions are supervised and keep their endpoints', () => {
  let primaryEndpoints: string[][] = [];
  let replicaEndpoints: string[][] = [];

  it('makes a pair through the public API and replicates receipted messages', async () => {
    pair = await createPair(stack, 'supervised');
    primaryEndpoints = endpointsOf(await stack.describe('region-a', pair.primaryId));
    replicaEndpoints = endpointsOf(await stack.describe('region-b', pair.replicaId));
    await sendAndReplicate(30);
  }, 900_000);

  it('restarts a replicator killed with kill -9; replication resumes with every message', async () => {
    const pid = recordedPid(stack, 'region-b', 'replicator', pair.replicaId);
    await expectFaultHealed(stack, pair, replicatorKill, queue);
    const now = recordedPid(stack, 'region-b', 'replicator', pair.replicaId);
    expect(now).not.toBe(pid);
    expect(alive(now), 'the replicator the control plane started again').toBe(true);
  }, 600_000);

  it('brings a Region back with its brokers and replicator after stack down + up, on the same endpoints', async () => {
    await expectFaultHealed(stack, pair, regionDownUp, queue);
    const b = await stack.waitForBroker(
      'region-b',
      pair.replicaId,
      (d) => healthyReplica(d) && replicating(d),
      'both instances back and REPLICATING without any operator action',
    );
    expect(endpointsOf(b)).toEqual(replicaEndpoints);
  }, 900_000);

  it('after kill -9 of the active instance: the standby takes over, a new standby starts, endpoints stay', async () => {
    const before = await stack.describe('region-a', pair.primaryId);
    const activeIndex = before.brokerInstances.findIndex((i) => i.instanceState === 'ACTIVE');
    expect(activeIndex).toBeGreaterThanOrEqual(0);
    const activeInstanceId = `${pair.primaryId}-${activeIndex + 1}`;
    const pid = recordedPid(stack, 'region-a', 'broker', activeInstanceId);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 'the active instance to die', 30_000);
    // A client with the failover list of both endpoints gets to the serving instance.
    await sendAndReplicate(20);
    const after = await stack.waitForBroker(
      'region-a',
      pair.primaryId,
      (b) => {
        if (!healthyPrimary(b)) return false;
        try {
          const now = recordedPid(stack, 'region-a', 'broker', activeInstanceId);
          return now !== pid && alive(now);
        } catch {
          return false;
        }
      },
      'one ACTIVE and a new STANDBY instance',
    );
    expect(endpointsOf(after)).toEqual(primaryEndpoints);
  }, 900_000);

  it('keeps every endpoint across reboot-broker, and each listed endpoint works once it serves', async () => {
    await stack.client('region-a').rebootBroker({ brokerId: pair.primaryId });
    const after = await stack.waitForBroker(
      'region-a',
      pair.primaryId,
      (b) => healthyPrimary(b) && replicating(b),
      'RUNNING again after the reboot',
    );
    expect(endpointsOf(after)).toEqual(primaryEndpoints);
    // The active instance's endpoint accepts a client; the standby's do not listen at all
    // (STOMP, WebSocket, clients' gRPC: issue 13), so failover lists move on at once.
    const active = after.brokerInstances.find((i) => i.instanceState === 'ACTIVE')!;
    const stomp = await connectFailover(active.endpoints.filter((e) => e.startsWith('stomp://')));
    await stomp.disconnect();
    const standby = after.brokerInstances.find((i) => i.instanceState === 'STANDBY')!;
    for (const endpoint of standby.endpoints) {
      expect(await listening(endpoint), `${endpoint} of the standby`).toBe(false);
    }
    for (const endpoint of active.endpoints) {
      expect(await listening(endpoint), `${endpoint} of the active instance`).toBe(true);
    }
    await sendAndReplicate(10);
  }, 900_000);
});
