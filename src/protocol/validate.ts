/** Pure checks of §5 shared by server (authoritative) and client (early, before any request). */
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
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
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

/**
 * The candidate object with its line in the stored spelling, `candidate:…` (as browsers write
 * it): libdatachannel (node-datachannel) hands out the SDP attribute form `a=candidate:…`, whose
 * `a=` is dropped. Anything else is returned unchanged, for checkCandidate to judge.
 */
export function normalizeCandidate<T>(c: T): T {
  if (!c || typeof c !== "object" || Array.isArray(c)) return c;
  const line = (c as { candidate?: unknown }).candidate;
  if (typeof line !== "string" || !line.startsWith("a=candidate:")) return c;
  return { ...c, candidate: line.slice(2) };
}

/** null when valid, else why (never echoing the candidate). Normalise first (normalizeCandidate). */
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
    if (
      typeof sdpMLineIndex !== "number" ||
      !Number.isInteger(sdpMLineIndex) ||
      sdpMLineIndex < 0 ||
      sdpMLineIndex > LIMITS.sdpMLineIndexMax
    )
      return "bad sdpMLineIndex";
  }
  return null;
}

/** Dedupe key `(candidate, sdpMid ?? "", sdpMLineIndex ?? -1)` (§4). */
export function candidateKey(c: Candidate): string {
  return JSON.stringify([c.candidate, c.sdpMid ?? "", c.sdpMLineIndex ?? -1]);
}

/**
 * Characters no name may contain: controls (Cc), format characters (Cf: zero-width, bidi
 * marks/overrides/isolates, tag characters, soft hyphen), lone surrogates (Cs), line and
 * paragraph separators, every default-ignorable code point (Hangul fillers U+115F, U+1160,
 * U+3164, U+FFA0, variation selectors outside emoji, combining grapheme joiner) and the
 * blank braille pattern U+2800, which renders as nothing.
 */
const FORBIDDEN_NAME_CHARS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;
/**
 * Emoji sequences keep their joiners and presentation selectors (U+200D, U+FE0E/F are
 * invisible only inside them): they are removed before the check above.
 */
const EMOJI_SEQUENCE =
  /\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}\uFE0E\uFE0F\u20E3]*(?:\u200D\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}\uFE0E\uFE0F]*)*/gu;
/** A name with nothing but whitespace (after NFC and trim, that is an empty name). */
const HAS_VISIBLE = /[^\p{White_Space}]/u;

/**
 * The form a name is stored and shown in: NFC, without leading/trailing whitespace. The
 * server stores this; clients may send the raw input.
 */
export function normalizeUserName(name: string): string {
  return name.normalize("NFC").trim();
}

/** null when valid (checked in its normalised form, see normalizeUserName), else why. */
export function checkUserName(name: unknown): string | null {
  if (typeof name !== "string") return "name must be a string";
  // Longer raw input cannot trim down to a valid name cheaply enough to be worth normalising.
  if (name.length > LIMITS.userNameMaxCodePoints * 8)
    return `name must be ${LIMITS.userNameMinCodePoints}-${LIMITS.userNameMaxCodePoints} characters`;
  const norm = normalizeUserName(name);
  const n = [...norm].length;
  if (n < LIMITS.userNameMinCodePoints || n > LIMITS.userNameMaxCodePoints || !HAS_VISIBLE.test(norm))
    return `name must be ${LIMITS.userNameMinCodePoints}-${LIMITS.userNameMaxCodePoints} visible characters`;
  if (FORBIDDEN_NAME_CHARS.test(norm.replace(EMOJI_SEQUENCE, "x")))
    return "name contains control, invisible or bidi characters";
  return null;
}
