/**
 * The route a connection took (issue #10): the selected ICE candidate pair, read from the ICE
 * transport where the browser names it, else from `RTCPeerConnection.getStats()`. Pure: takes the
 * pair or the stats report, returns plain data.
 */

/** host: same network; srflx / prflx: through a NAT (STUN); relay: through a TURN server. */
export type CandidateType = "host" | "srflx" | "prflx" | "relay";

export interface IceRoute {
  localType: CandidateType;
  remoteType: CandidateType;
  /** Transport between this browser and its first hop ("udp" or "tcp"). */
  protocol: string;
  /** True when either side goes through a TURN relay. */
  relayed: boolean;
}

type Stat = Record<string, unknown> & { id?: unknown; type?: unknown };

const TYPES: readonly string[] = ["host", "srflx", "prflx", "relay"];

/**
 * The selected pair: the transport's `selectedCandidatePairId` (Chromium, Safari), else the pair
 * flagged `selected` (Firefox), else a nominated pair that succeeded. Null when none is known
 * yet or the report is incomplete.
 */
export function routeFromStats(report: { forEach(cb: (s: Stat) => void): void }): IceRoute | null {
  const byId = new Map<unknown, Stat>();
  const all: Stat[] = [];
  report.forEach((s) => {
    byId.set(s.id, s);
    all.push(s);
  });
  const transport = all.find((s) => s.type === "transport" && typeof s.selectedCandidatePairId === "string");
  const isPair = (s: Stat | undefined): s is Stat => s?.type === "candidate-pair";
  const selected = transport ? byId.get(transport.selectedCandidatePairId) : undefined;
  const pair = isPair(selected)
    ? selected
    : (all.find((s) => isPair(s) && s.selected === true) ??
      all.find((s) => isPair(s) && s.nominated === true && s.state === "succeeded"));
  if (!pair) return null;
  const local = byId.get(pair.localCandidateId);
  return routeOf(local?.candidateType, byId.get(pair.remoteCandidateId)?.candidateType, local?.protocol);
}

/**
 * The same from the ICE transport's selected pair, which the browser names at once (Chromium,
 * Safari: `pc.sctp.transport.iceTransport.getSelectedCandidatePair()`), with no getStats() wait.
 */
export function routeFromPair(pair: RTCIceCandidatePair | null): IceRoute | null {
  return pair && routeOf(pair.local.type, pair.remote.type, pair.local.protocol);
}

function routeOf(localType: unknown, remoteType: unknown, protocol: unknown): IceRoute | null {
  if (typeof localType !== "string" || !TYPES.includes(localType)) return null;
  if (typeof remoteType !== "string" || !TYPES.includes(remoteType)) return null;
  return {
    localType: localType as CandidateType,
    remoteType: remoteType as CandidateType,
    protocol: typeof protocol === "string" ? protocol : "udp",
    relayed: localType === "relay" || remoteType === "relay",
  };
}
