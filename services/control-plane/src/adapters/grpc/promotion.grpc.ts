import { unaryHandler, type controlPlaneV1, type HandlerOptions } from '@crdr/proto';
import type { PromotionOperations } from '../../operations/promotion.js';
import type { PromotionRpc } from './control-plane.grpc.js';

/** Promote, ListDivergentEvents and ResolveDivergentTail of ControlPlaneService. */
export function createPromotionServiceHandlers(
  promotion: PromotionOperations,
  handlerOptions: HandlerOptions = {},
): Pick<controlPlaneV1.ControlPlaneServiceHandlers, PromotionRpc> {
  return {
    Promote: unaryHandler((r) => promotion.promote(r), handlerOptions),
    ListDivergentEvents: unaryHandler((r) => promotion.listDivergentEvents(r), handlerOptions),
    ResolveDivergentTail: unaryHandler((r) => promotion.resolveDivergentTail(r), handlerOptions),
  };
}

type PromotionPeerRpc =
  | 'DemotePrimary'
  | 'SetPeerBrokerRole'
  | 'RecordPromotionStatus'
  | 'CaptureDivergentTail'
  | 'GetPromotionState'
  | 'OldPrimaryReturned'
  | 'RepublishMessages'
  | 'GetBrokerDigest';

/** The promotion calls of ControlPlanePeerService (the other Region's saga). */
export function createPromotionPeerHandlers(
  promotion: PromotionOperations,
  handlerOptions: HandlerOptions = {},
): Pick<controlPlaneV1.ControlPlanePeerServiceHandlers, PromotionPeerRpc> {
  const p = promotion.peerHandlers;
  return {
    DemotePrimary: unaryHandler((r) => p.demotePrimary(r), handlerOptions),
    SetPeerBrokerRole: unaryHandler((r) => p.setPeerBrokerRole(r), handlerOptions),
    RecordPromotionStatus: unaryHandler((r) => p.recordPromotionStatus(r), handlerOptions),
    CaptureDivergentTail: unaryHandler((r) => p.captureDivergentTail(r), handlerOptions),
    GetPromotionState: unaryHandler((r) => p.getPromotionState(r), handlerOptions),
    OldPrimaryReturned: unaryHandler((r) => p.oldPrimaryReturned(r), handlerOptions),
    RepublishMessages: unaryHandler((r) => p.republishMessages(r), handlerOptions),
    GetBrokerDigest: unaryHandler((r) => p.getBrokerDigest(r), handlerOptions),
  };
}
