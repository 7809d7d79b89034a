/**
 * Live connection quality (README, Connection quality): pure functions over one
 * `RTCPeerConnection.getStats()` report. RTT is the selected candidate pair's current round trip
 * (ICE consent checks); jitter is the smoothed variation between successive RTT samples (RFC 3550
 * style, gain 1/8 here since samples are sparse); per-channel bytes and messages come from the
 * `data-channel` entries; loss on the unreliable channel from the peer's heartbeat count.
 */
import { routeFromStats, type IceRoute } from "./route.ts";

export type Quality = "excellent" | "good" | "fair" | "poor";

export interface ChannelStats {
  label: string;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

export interface ConnectionStats {
  /** nowMs() when read. */
  at: number;
  /** Round-trip time of the selected pair, ms (null until ICE measured one). */
  rttMs: number | null;
  /** Smoothed RTT variation, ms (null until two samples). */
  jitterMs: number | null;
  reliable: ChannelStats | null;
  unreliable: ChannelStats | null;
  /** Fraction (0–1) of our unreliable messages the peer did not receive; null where not measurable. */
  unreliableLoss: number | null;
  route: IceRoute | null;
  /** A recovery is under way (then quality is "poor"). */
  reconnecting: boolean;
  quality: Quality;
}

/**
 * Quality thresholds (documented in the README): the worst of the three figures decides.
 * A figure that is not known does not count; reconnecting is always poor.
 */
export const QUALITY = [
  { q: "excellent", rttMs: 100, jitterMs: 20, loss: 0.01 },
  { q: "good", rttMs: 200, jitterMs: 50, loss: 0.03 },
  { q: "fair", rttMs: 400, jitterMs: 100, loss: 0.1 },
] as const;

export function rateQuality(
  s: Pick<ConnectionStats, "rttMs" | "jitterMs" | "unreliableLoss" | "reconnecting">,
): Quality {
  if (s.reconnecting) return "poor";
  for (const t of QUALITY) {
    if ((s.rttMs ?? 0) < t.rttMs && (s.jitterMs ?? 0) < t.jitterMs && (s.unreliableLoss ?? 0) < t.loss) return t.q;
  }
  return "poor";
}

/** Kept between reads: the last RTT sample and the running jitter. */
export interface JitterState {
  samples: number;
  totalRtt: number;
  lastRttMs: number | null;
  jitterMs: number | null;
}

export const JITTER0: JitterState = { samples: 0, totalRtt: 0, lastRttMs: null, jitterMs: null };

type Stat = Record<string, unknown> & { id?: unknown; type?: unknown };
type Report = { forEach(cb: (s: Stat) => void): void };

const num = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);

/** RTT and jitter from the selected pair. New samples are the pair's RTT average since the last read. */
export function rttAndJitter(report: Report, prev: JitterState): JitterState & { rttMs: number | null } {
  const byId = new Map<unknown, Stat>();
  let pairId: unknown;
  report.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === "transport" && typeof s.selectedCandidatePairId === "string") pairId = s.selectedCandidatePairId;
  });
  const pair = byId.get(pairId);
  if (!pair || typeof pair.currentRoundTripTime !== "number") return { ...prev, rttMs: null };
  const rttMs = pair.currentRoundTripTime * 1000;
  const samples = num(pair.responsesReceived);
  const totalRtt = num(pair.totalRoundTripTime);
  // The mean RTT of the consent checks answered since the last read (or the current one).
  const sample = samples > prev.samples ? ((totalRtt - prev.totalRtt) / (samples - prev.samples)) * 1000 : rttMs;
  let jitterMs = prev.jitterMs;
  if (prev.lastRttMs !== null && samples > prev.samples) {
    const d = Math.abs(sample - prev.lastRttMs);
    jitterMs = jitterMs === null ? d : jitterMs + (d - jitterMs) / 8;
  }
  return { samples, totalRtt, lastRttMs: samples > prev.samples ? sample : prev.lastRttMs, jitterMs, rttMs };
}

/** The data-channel entry for the channel with this SCTP id. */
export function channelStats(report: Report, id: number | null | undefined): ChannelStats | null {
  let out: ChannelStats | null = null;
  report.forEach((s) => {
    if (s.type !== "data-channel" || id === null || id === undefined || s.dataChannelIdentifier !== id) return;
    out = {
      label: typeof s.label === "string" ? s.label : "",
      bytesSent: num(s.bytesSent),
      bytesReceived: num(s.bytesReceived),
      messagesSent: num(s.messagesSent),
      messagesReceived: num(s.messagesReceived),
    };
  });
  return out;
}

/**
 * Loss on the unreliable channel: the peer's count of what it received against what we had sent
 * one heartbeat earlier (everything sent before that has either arrived or been lost; later sends
 * may be in flight). Null until enough was sent to say.
 */
export function lossOf(sentEarlier: number, peerReceived: number | null): number | null {
  if (peerReceived === null || sentEarlier < 20) return null;
  return Math.min(1, Math.max(0, (sentEarlier - peerReceived) / sentEarlier));
}

export function readStats(
  report: Report,
  ids: { reliable: number | null | undefined; unreliable: number | null | undefined },
  jitter: JitterState,
  extra: { at: number; reconnecting: boolean; unreliableLoss: number | null },
): { stats: ConnectionStats; jitter: JitterState } {
  const j = rttAndJitter(report, jitter);
  const base = {
    at: extra.at,
    rttMs: j.rttMs,
    jitterMs: j.jitterMs,
    reliable: channelStats(report, ids.reliable),
    unreliable: channelStats(report, ids.unreliable),
    unreliableLoss: extra.unreliableLoss,
    route: routeFromStats(report),
    reconnecting: extra.reconnecting,
  };
  const { rttMs: _r, ...next } = j;
  return { stats: { ...base, quality: rateQuality(base) }, jitter: next };
}
