import { describe, expect, it } from 'vitest';
import { CrdrError, unavailable } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { waitForPromotion } from './promotion-wait.js';

type Broker = controlPlaneV1.DescribeBrokerResponse__Output;

function broker(status: string, role: string, step?: string): Broker {
  return {
    brokerId: 'b-2',
    brokerArn: 'arn',
    brokerName: 'orders',
    brokerState: role === 'PRIMARY' ? 'RUNNING' : 'REPLICA',
    deploymentMode: '',
    engineType: '',
    engineVersion: '',
    hostInstanceType: '',
    created: '',
    users: [],
    brokerInstances: [],
    dataReplicationMode: 'CRDR',
    pendingDataReplicationMode: '',
    dataReplicationMetadata: {
      dataReplicationRole: role,
      dataReplicationCounterpart: null,
      replicationStatus: status,
      replicationStatusReason: '',
      promotion: step === undefined ? null : { mode: 'SWITCHOVER', step, startedAt: '' },
      divergentTail: null,
    },
    pendingDataReplicationMetadata: null,
    brokerStateReason: '',
    region: 'region-b',
  };
}

/** A scripted sequence of answers and a clock that advances 1 s per poll. */
function script(answers: readonly (Broker | Error)[]) {
  let clockMs = 0;
  let index = 0;
  const lines: string[] = [];
  return {
    lines,
    describe: async () => {
      const answer = answers[Math.min(index++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    context: {
      progress: (line: string) => lines.push(line),
      now: () => clockMs,
      sleep: async (ms: number) => {
        clockMs += ms;
      },
    },
  };
}

describe('waitForPromotion', () => {
  it('shows each step change with the elapsed time and resolves with the new primary', async () => {
    const run = script([
      broker('PROMOTION_IN_PROGRESS', 'REPLICA', 'DEMOTING_PRIMARY'),
      broker('PROMOTION_IN_PROGRESS', 'REPLICA', 'DEMOTING_PRIMARY'),
      broker('PROMOTION_IN_PROGRESS', 'REPLICA', 'WAITING_FOR_REPLICA'),
      unavailable('control plane restarting', { details: { grpcStatus: 'UNAVAILABLE' } }),
      broker('REPLICATING', 'PRIMARY'),
    ]);
    const result = await waitForPromotion({
      brokerId: 'b-2',
      mode: 'SWITCHOVER',
      timeoutMs: 60_000,
      pollIntervalMs: 1_000,
      describe: run.describe,
      context: run.context,
    });
    expect(result.dataReplicationMetadata?.dataReplicationRole).toBe('PRIMARY');
    expect(run.lines).toEqual([
      'SWITCHOVER of b-2 requested; waiting up to 60.0s',
      '[   0.0s] BrokerState REPLICA, ReplicationStatus PROMOTION_IN_PROGRESS, SWITCHOVER step DEMOTING_PRIMARY',
      '[   2.0s] BrokerState REPLICA, ReplicationStatus PROMOTION_IN_PROGRESS, SWITCHOVER step WAITING_FOR_REPLICA',
      '[   3.0s] control plane unavailable (control plane restarting); still waiting',
      '[   4.0s] BrokerState RUNNING, ReplicationStatus REPLICATING',
    ]);
  });

  it('fails when the promotion ends without a primary', async () => {
    const run = script([broker('PAUSED', 'REPLICA')]);
    await expect(
      waitForPromotion({
        brokerId: 'b-2',
        mode: 'FAILOVER',
        timeoutMs: 5_000,
        describe: run.describe,
        context: run.context,
      }),
    ).rejects.toMatchObject({
      code: 'FailedPrecondition',
      message: expect.stringMatching(/^promotion of b-2 ended without making it primary: /),
    });
  });

  it('gives up at the timeout, saying the promotion goes on', async () => {
    const run = script([broker('PROMOTION_IN_PROGRESS', 'REPLICA', 'WAITING_FOR_REPLICA')]);
    const waiting = waitForPromotion({
      brokerId: 'b-2',
      mode: 'SWITCHOVER',
      timeoutMs: 3_000,
      pollIntervalMs: 1_000,
      describe: run.describe,
      context: run.context,
    });
    await expect(waiting).rejects.toBeInstanceOf(CrdrError);
    await expect(waiting).rejects.toMatchObject({
      code: 'DeadlineExceeded',
      message: expect.stringContaining('still running after 3.0s'),
    });
  });

  it('stops at once on an error that is an answer (NotFound)', async () => {
    const run = script([new CrdrError('NotFound', 'broker b-2 not found')]);
    await expect(
      waitForPromotion({
        brokerId: 'b-2',
        mode: 'SWITCHOVER',
        timeoutMs: 3_000,
        describe: run.describe,
        context: run.context,
      }),
    ).rejects.toMatchObject({ code: 'NotFound' });
  });
});
