import { expect } from 'vitest';
import { waitFor } from '@crdr/testing';
import {
  PROCESS_MS,
  expectAllReplicated,
  startProducer,
  type FaultStack,
  type Pair,
} from './fault-stack.js';
import {
  caughtUp,
  observePair,
  runFault,
  stalledReason,
  type Fault,
  type FaultOutcome,
  type PairSample,
} from './stack-faults.js';

const brief = (samples: readonly PairSample[]) =>
  samples
    .map(
      (s) =>
        `${new Date(s.at).toISOString().slice(11, 23)} primary ${s.primary} replica ${s.replica} lag ${s.lagS} total ${s.totalLagS}`,
    )
    .join('\n');

/**
 * One fault case of issue 11, with the end checks every case shares: a steady producer with
 * receipts runs while the fault happens; then, with no operator action, every receipted message
 * is on the replica with equal state digests, DescribeBroker showed STALLED with a reason while
 * the fault lasted, the lag grew meanwhile (unless the primary could commit nothing: its store
 * was down), and both sides are back at REPLICATING with lag 0.
 */
export async function expectFaultHealed(
  stack: FaultStack,
  pair: Pair,
  fault: Fault,
  queue: string,
): Promise<FaultOutcome> {
  const producer = startProducer(stack, pair.primaryId, queue);
  const observer = observePair(stack, pair);
  try {
    await producer.waitForReceipts(10);
    const outcome = await runFault(stack, pair, fault, observer);
    await producer.waitForReceipts(10);
    const receipted = await producer.stop();
    await expectAllReplicated(stack, pair, receipted);
    const stoppedAt = Date.now();
    await waitFor(
      () => observer.samples.some((s) => s.at > stoppedAt && caughtUp(s) && s.lagS === 0),
      'both sides REPLICATING with ReplicationLag 0 once the producer stopped',
      PROCESS_MS,
      250,
    );
    const seen = brief(observer.samples.filter((s) => s.at >= outcome.startedAt));
    expect(outcome.stalled, `STALLED while ${fault.name} lasted; seen:\n${seen}`).toBeDefined();
    expect(stalledReason(outcome.stalled), 'the reason shown with STALLED').not.toBe('');
    if (fault.primaryCommits !== false) {
      expect(
        outcome.maxLagS,
        `the lag to grow during ${fault.name}; seen:\n${seen}`,
      ).toBeGreaterThan(outcome.firstLagS);
    }
    return outcome;
  } finally {
    await producer.stop();
    await observer.stop();
  }
}
