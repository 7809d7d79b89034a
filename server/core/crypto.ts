/**
 * Secrets and hashing on WebCrypto only (crypto.getRandomValues, crypto.subtle), so the same
 * code runs on Node 20 and in workerd. Tokens are 32 CSPRNG bytes, base64url; the server keeps
 * only their SHA-256 (hex) and compares digests in constant time (registry-api.md §2).
 */

export type RandomBytes = (n: number) => Uint8Array;

/**
 * SHA-256 as lowercase hex. A runtime may supply a synchronous one (Node: node:crypto's
 * createHash, ~2 µs against ~80 µs for a WebCrypto digest through the thread pool); the app
 * awaits only when given a promise.
 */
export type Sha256Hex = (s: string) => string | Promise<string>;

export const randomBytes: RandomBytes = (n) => {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
};

export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function newToken(rand: RandomBytes = randomBytes): string {
  return base64url(rand(32));
}

const encoder = new TextEncoder();

export async function sha256Hex(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
  let hex = "";
  for (let i = 0; i < d.length; i++) hex += d[i]!.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Constant-time equality of two digests. Both are fixed-length hex here, so a length
 * mismatch only ever means "not a digest" and may return early.
 */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
