import { unaryHandler, type HandlerOptions, type replicatorV1 } from '@crdr/proto';
import type { ReplicationLoop } from '../nats/replication-loop.js';
import { toGetStatusResponse, toWaitForSequence } from './replicator.mapping.js';

export interface ReplicatorServiceOptions {
  readonly loop: ReplicationLoop;
  readonly primaryBrokerId: string;
  readonly replicaBrokerId: string;
  /** How long GetStatus waits for the consumer's pending count before answering the last one. */
  readonly pendingInfoTimeoutMs?: number;
  readonly onUnexpectedError?: (error: unknown, context: string) => void;
}

/** The handlers of crdr.replicator.v1.ReplicatorService over the replication loop. */
export function createReplicatorServiceHandlers(
  options: ReplicatorServiceOptions,
): replicatorV1.ReplicatorServiceHandlers {
  const { loop } = options;
  const handlerOptions: HandlerOptions = options.onUnexpectedError
    ? { onUnexpectedError: options.onUnexpectedError }
    : {};
  const ids = {
    primaryBrokerId: options.primaryBrokerId,
    replicaBrokerId: options.replicaBrokerId,
  };
  return {
    GetStatus: unaryHandler<replicatorV1.GetStatusRequest__Output, replicatorV1.GetStatusResponse>(
      async () => {
        await loop.refreshPending(options.pendingInfoTimeoutMs ?? 1_000);
        return toGetStatusResponse(loop.status(), ids);
      },
      handlerOptions,
    ),
    Pause: unaryHandler<replicatorV1.PauseRequest__Output, replicatorV1.PauseResponse>(async () => {
      await loop.pause();
      return {};
    }, handlerOptions),
    Resume: unaryHandler<replicatorV1.ResumeRequest__Output, replicatorV1.ResumeResponse>(() => {
      loop.resume();
      return Promise.resolve({});
    }, handlerOptions),
    WaitForSequence: unaryHandler<
      replicatorV1.WaitForSequenceRequest__Output,
      replicatorV1.WaitForSequenceResponse
    >(async (request, call) => {
      const { sequence, timeoutMs } = toWaitForSequence(request);
      const cancelled = new AbortController();
      call.once('cancelled', () => cancelled.abort());
      const applied = await loop.waitForSequence(sequence, timeoutMs, cancelled.signal);
      return { appliedSequence: applied.toString() };
    }, handlerOptions),
  };
}
