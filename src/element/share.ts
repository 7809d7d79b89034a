/**
 * Share links: the room code and join code travel in the URL *fragment*
 * (`#room=K7M2QX&join=ABCD-1234`), which browsers never send to a server — not to the page's
 * host, not in Referer headers.
 */
import { formatJoinCode, normalizeJoinCode, normalizeRoomCode } from "../protocol/index.ts";

export interface ShareCodes {
  code?: string;
  joinCode?: string;
}

/**
 * Reads codes from a share link, a bare fragment ("#room=…&join=…" or "room=…&join=…"), or
 * nothing useful (→ {}). Each code is normalised; an invalid one is left out.
 */
export function parseShare(input: string | null | undefined): ShareCodes {
  if (!input) return {};
  const hash = input.indexOf("#");
  const frag = hash >= 0 ? input.slice(hash + 1) : input;
  if (!frag.includes("=")) return {};
  const p = new URLSearchParams(frag);
  const out: ShareCodes = {};
  const code = normalizeRoomCode(p.get("room"));
  const joinCode = normalizeJoinCode(p.get("join"));
  if (code) out.code = code;
  if (joinCode) out.joinCode = joinCode;
  return out;
}

/** `base` (any URL; its own fragment is replaced) + `#room=CODE&join=XXXX-XXXX`. */
export function buildShareUrl(base: string, code: string, joinCode: string): string {
  const hash = base.indexOf("#");
  const clean = hash >= 0 ? base.slice(0, hash) : base;
  return `${clean}#room=${encodeURIComponent(code)}&join=${encodeURIComponent(formatJoinCode(joinCode))}`;
}
