/**
 * Exponential backoff with jitter: base 250–500 ms, multiplier 1.6–2.0,
 * cap 10 s. Randomness is injected (a function returning [0, 1)), so tests are deterministic.
 */
export const BACKOFF = { baseMinMs: 250, baseMaxMs: 500, multMin: 1.6, multMax: 2.0, capMs: 10_000 } as const;

/** Delay before retry number `attempt` (0 = first retry). Always within [250 ms, cap]. */
export function backoffDelay(attempt: number, random: () => number, capMs: number = BACKOFF.capMs): number {
  const base = BACKOFF.baseMinMs + random() * (BACKOFF.baseMaxMs - BACKOFF.baseMinMs);
  const mult = BACKOFF.multMin + random() * (BACKOFF.multMax - BACKOFF.multMin);
  return Math.round(Math.min(capMs, base * mult ** attempt));
}

/**
 * Delay after a 429: the server's retryAfterSec when given (plus up to 250 ms of jitter so two
 * clients do not return in lockstep), else the exponential backoff.
 */
export function rateLimitDelay(attempt: number, retryAfterSec: number | undefined, random: () => number): number {
  if (retryAfterSec === undefined) return backoffDelay(attempt, random);
  return Math.round(retryAfterSec * 1000 + random() * BACKOFF.baseMinMs);
}

/** Jittered value in [min, max]. */
export function jitter(min: number, max: number, random: () => number): number {
  return Math.round(min + random() * (max - min));
}

/** [0, 1) from injected random bytes (4 bytes → 32 bits). */
export function randomFromBytes(randomBytes: (n: number) => Uint8Array): () => number {
  return () => {
    const b = randomBytes(4);
    return (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) / 2 ** 32;
  };
}
