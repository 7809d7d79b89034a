/** Pure checks of request bodies (docs/protocol.md, Limits) shared by server (authoritative) and client (early, before any request). */
import { LIMITS } from "./limits.ts";

export interface Candidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

const encoder = /* @__PURE__ */ new TextEncoder();

export function utf8Length(s: string): number {
  // Fast path: ASCII-only strings are the common case for SDP.
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
  return ascii ? s.length : encoder.encode(s).length;
}

/** null when valid, else why (never echoing the SDP). */
export function checkSdp(sdp: unknown, type: "offer" | "answer", bodyType: unknown): string | null {
  if (bodyType !== type) return `type must be "${type}"`;
  if (typeof sdp !== "string") return "sdp must be a string";
  if (!sdp.startsWith("v=0")) return "sdp must start with v=0";
  if (utf8Length(sdp) > LIMITS.sdpBytes) return `sdp exceeds ${LIMITS.sdpBytes} bytes`;
  return null;
}

/** null when valid, else why (never echoing the candidate). */
export function checkCandidate(c: unknown): string | null {
  if (!c || typeof c !== "object" || Array.isArray(c)) return "candidate must be an object";
  const { candidate, sdpMid, sdpMLineIndex } = c as Record<string, unknown>;
  if (typeof candidate !== "string") return "candidate must be a string";
  if (!candidate.startsWith("candidate:")) return "candidate must start with candidate:";
  if (utf8Length(candidate) > LIMITS.candidateBytes) return `candidate exceeds ${LIMITS.candidateBytes} bytes`;
  if (sdpMid !== undefined && sdpMid !== null) {
    if (typeof sdpMid !== "string" || [...sdpMid].length > LIMITS.sdpMidChars) return "bad sdpMid";
  }
  if (sdpMLineIndex !== undefined && sdpMLineIndex !== null) {
    if (typeof sdpMLineIndex !== "number" || !Number.isInteger(sdpMLineIndex) || sdpMLineIndex < 0 || sdpMLineIndex > LIMITS.sdpMLineIndexMax) return "bad sdpMLineIndex";
  }
  return null;
}

/** Dedupe key `(candidate, sdpMid ?? "", sdpMLineIndex ?? -1)`. */
export function candidateKey(c: Candidate): string {
  return JSON.stringify([c.candidate, c.sdpMid ?? "", c.sdpMLineIndex ?? -1]);
}

// Cc (C0, DEL, C1) and bidi overrides/isolates.
const FORBIDDEN_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** null when valid, else why. */
export function checkUserName(name: unknown): string | null {
  if (typeof name !== "string") return "name must be a string";
  const n = [...name].length;
  if (n < LIMITS.userNameMinCodePoints || n > LIMITS.userNameMaxCodePoints) return `name must be ${LIMITS.userNameMinCodePoints}-${LIMITS.userNameMaxCodePoints} characters`;
  if (FORBIDDEN_NAME_CHARS.test(name)) return "name contains control or bidi-override characters";
  return null;
}
