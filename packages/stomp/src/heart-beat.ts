/** `[cx, cy]` as in the `heart-beat` header: send every cx ms, want to receive every cy ms. */
export type HeartBeat = readonly [number, number];

/** Intervals agreed for one side of a connection; 0 turns that direction off. */
export interface HeartBeatSchedule {
  readonly sendEveryMs: number;
  readonly expectEveryMs: number;
}

const heartBeatHeader = /^\s*(\d+)\s*,\s*(\d+)\s*$/;

/** Parses a `heart-beat` header; a missing or malformed one means no heart-beating, `0,0`. */
export function parseHeartBeat(header: string | undefined): HeartBeat {
  const match = header === undefined ? null : heartBeatHeader.exec(header);
  return match === null ? [0, 0] : [Number(match[1]), Number(match[2])];
}

/**
 * Negotiates heart-beating from this side's header and the peer's (STOMP 1.2, "Heart-beating"):
 * send every max(own cx, peer cy) when both are non-zero, expect every max(own cy, peer cx).
 */
export function negotiateHeartBeat(own: HeartBeat, peer: HeartBeat): HeartBeatSchedule {
  const [ownSend, ownReceive] = own;
  const [peerSend, peerReceive] = peer;
  return {
    sendEveryMs: ownSend > 0 && peerReceive > 0 ? Math.max(ownSend, peerReceive) : 0,
    expectEveryMs: ownReceive > 0 && peerSend > 0 ? Math.max(ownReceive, peerSend) : 0,
  };
}
