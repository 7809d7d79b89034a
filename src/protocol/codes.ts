/** Room codes and join codes (docs/protocol.md, Room and join codes): Crockford base32, upper case. */
export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const ROOM_CODE_LENGTH = 6;
export const JOIN_CODE_LENGTH = 8;

const ROOM_CODE_RE = /^[0-9A-HJKMNP-TV-Z]{6}$/;

export function isRoomCode(s: unknown): s is string {
  return typeof s === "string" && ROOM_CODE_RE.test(s);
}

/** What a person typed, forgiven: any case, `-` and spaces ignored, O→0 and I/L→1. */
function forgive(input: unknown): string | null {
  if (typeof input !== "string" || input.length > 64) return null;
  return input.replace(/[\s-]/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
}

/** Normalises a typed join code (see forgive). Returns null when the result is not 8 Crockford characters. */
export function normalizeJoinCode(input: unknown): string | null {
  const s = forgive(input);
  return s !== null && s.length === JOIN_CODE_LENGTH && /^[0-9A-HJKMNP-TV-Z]+$/.test(s) ? s : null;
}

/** Normalises a typed room code the same forgiving way (our decision, see README). */
export function normalizeRoomCode(input: unknown): string | null {
  const s = forgive(input);
  return isRoomCode(s) ? s : null;
}

/** `ABCD1234` → `ABCD-1234`, as UIs show join codes. */
export function formatJoinCode(code: string): string {
  return code.length === JOIN_CODE_LENGTH ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/** Encodes random bytes as Crockford characters (5 bits each, unbiased: 32 | 256). */
export function randomCrockford(randomBytes: (n: number) => Uint8Array, length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (let i = 0; i < length; i++) out += CROCKFORD[bytes[i]! & 31];
  return out;
}
