import { badRequest } from '@crdr/errors';
import type { replicatorV1 } from '@crdr/proto';
import type { ReplicatorStatus } from '../../domain/replicator-state.js';

/** The longest WaitForSequence honours; longer ones are cut to it. */
export const maxWaitMs = 10 * 60_000;

export function toGetStatusResponse(
  status: ReplicatorStatus,
  ids: { readonly primaryBrokerId: string; readonly replicaBrokerId: string },
): replicatorV1.GetStatusResponse {
  return {
    state: status.state,
    primaryBrokerId: ids.primaryBrokerId,
    replicaBrokerId: ids.replicaBrokerId,
    appliedSequence: status.appliedSequence.toString(),
    appliedEpoch: status.appliedEpoch.toString(),
    appliedGeneration: status.appliedGeneration.toString(),
    lastCreatedAtMs: String(status.lastCreatedAtMs),
    lastAppliedAtMs: String(status.lastAppliedAtMs),
    pendingCount: String(status.pendingCount),
    error: status.error,
    lastKnownSequence: status.lastKnownSequence.toString(),
    oldestPendingCreatedAtMs: String(status.oldestPendingCreatedAtMs ?? 0),
    destinations: (status.destinations ?? []).map((d) => ({
      destination: d.destination,
      lastCreatedAtMs: String(d.lastCreatedAtMs),
      lastAppliedAtMs: String(d.lastAppliedAtMs),
    })),
  };
}

/** The sequence and timeout of a WaitForSequence request, checked. */
export function toWaitForSequence(request: replicatorV1.WaitForSequenceRequest__Output): {
  sequence: bigint;
  timeoutMs: number;
} {
  if (!/^\d+$/.test(request.sequence))
    throw badRequest(`sequence "${request.sequence}" is not a number`);
  return {
    sequence: BigInt(request.sequence),
    timeoutMs: Math.min(Math.max(request.timeoutMs, 0), maxWaitMs),
  };
}
