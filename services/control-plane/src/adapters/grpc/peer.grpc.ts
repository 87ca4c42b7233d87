import { unaryHandler, type controlPlaneV1, type HandlerOptions } from '@crdr/proto';
import type { createPeerOperations } from '../../operations/pairing.js';

/** The live health of the pair of a broker of this Region (operations/pair-health.ts). */
export type PairHealthOf = (brokerId: string) => Promise<controlPlaneV1.PairHealth>;

/** ControlPlanePeerService: what the other Regions' control planes call. */
export function createPeerServiceHandlers(
  peer: ReturnType<typeof createPeerOperations>,
  pairHealth: PairHealthOf,
  handlerOptions: HandlerOptions = {},
): Pick<
  controlPlaneV1.ControlPlanePeerServiceHandlers,
  | 'DescribePrimary'
  | 'AttachReplica'
  | 'DetachReplica'
  | 'StartReplication'
  | 'StopReplication'
  | 'GetPairHealth'
> {
  return {
    DescribePrimary: unaryHandler((r) => peer.describePrimary(r), handlerOptions),
    AttachReplica: unaryHandler((r) => peer.attachReplica(r), handlerOptions),
    DetachReplica: unaryHandler((r) => peer.detachReplica(r), handlerOptions),
    StartReplication: unaryHandler((r) => peer.startReplication(r), handlerOptions),
    StopReplication: unaryHandler((r) => peer.stopReplication(r), handlerOptions),
    GetPairHealth: unaryHandler((r) => pairHealth(r.brokerId), handlerOptions),
  };
}
