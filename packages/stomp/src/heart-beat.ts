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

/** A server's limits for heart-beating. */
export interface ServerHeartBeatPolicy {
  /** How often the server wants to hear from a client at most (its cy); 0: it does not ask. */
  readonly expectEveryMs: number;
  /** The shortest interval the server sends heart-beats at, whatever the client asks. */
  readonly minIntervalMs: number;
  /** The longest interval either way; a larger one asked for is cut down to it. */
  readonly maxIntervalMs: number;
}

/** Defaults: the server sends at most every 100 ms, and no interval is longer than a day. */
export const defaultServerHeartBeatPolicy: ServerHeartBeatPolicy = {
  expectEveryMs: 10_000,
  minIntervalMs: 100,
  maxIntervalMs: 24 * 60 * 60 * 1000,
};

/**
 * A server's side of the negotiation, as STOMP 1.1/1.2 specify it and ActiveMQ does it: the
 * server can send as often as the client wants (down to `minIntervalMs`), so it sends every
 * client cy ms, and expects every max(own cy, client cx) ms; 0 on either side turns that
 * direction off. The result is what CONNECTED's heart-beat header carries (`0,500` from the
 * client is answered `500,0`).
 */
export function negotiateServerHeartBeat(
  client: HeartBeat,
  policy: ServerHeartBeatPolicy = defaultServerHeartBeatPolicy,
): HeartBeatSchedule {
  const [clientSend, clientReceive] = client;
  const clamp = (ms: number): number =>
    Math.min(policy.maxIntervalMs, Math.max(policy.minIntervalMs, ms));
  return {
    sendEveryMs: clientReceive > 0 ? clamp(clientReceive) : 0,
    expectEveryMs:
      clientSend > 0 && policy.expectEveryMs > 0
        ? clamp(Math.max(policy.expectEveryMs, clientSend))
        : 0,
  };
}
