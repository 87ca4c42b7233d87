import { isCrdrError } from '@crdr/errors';
import { isStompServerError } from '@crdr/stomp';
import type { TwoRegions } from './two-regions.js';

/** How the replica answered a STOMP client and a gRPC client. */
export interface ReplicaRefusal {
  /** The STOMP ERROR's `message` header; undefined when CONNECT was accepted. */
  readonly stompError: string | undefined;
  /** The gRPC Send's error code (`FailedPrecondition`...); undefined when it succeeded. */
  readonly grpcCode: string | undefined;
  readonly grpcMessage: string | undefined;
}

/** Tries a STOMP CONNECT and a gRPC Send on the replica and reports how each was refused. */
export async function probeReplicaRefusal(regions: TwoRegions): Promise<ReplicaRefusal> {
  let stompError: string | undefined;
  try {
    const client = await regions.connectReplica();
    client.destroy();
  } catch (error) {
    if (!isStompServerError(error)) throw error;
    stompError = error.headers['message'] ?? '';
  }
  let grpcCode: string | undefined;
  let grpcMessage: string | undefined;
  try {
    await regions.regionB.broker.send({
      destination: '/queue/refused',
      body: Buffer.from('must not land on a replica'),
      persistent: true,
    });
  } catch (error) {
    if (!isCrdrError(error)) throw error;
    grpcCode = error.code;
    grpcMessage = error.message;
  }
  return { stompError, grpcCode, grpcMessage };
}
