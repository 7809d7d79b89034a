/**
 * Rate limiting (registry-api.md §5).
 *
 * `slidingWindowHit` is the one counting rule, used both by the per-IP limiter below and by
 * the per-room / per-token limits that live inside the room record (server/room.ts): "at most
 * `limit` requests within any 60 s". It keeps the timestamps of accepted requests; a refused
 * request is not counted, so a client that backs off is never locked out for longer than
 * the window.
 *
 * Seam for Workers: `RateLimiter` is async so a Durable Object (one per IP bucket, or a
 * sharded one) can implement it; `MemoryRateLimiter` is the Node implementation.
 */

export const WINDOW_MS = 60_000;

export type LimitResult = { ok: true } | { ok: false; retryAfterSec: number };

/** Mutates `times` (accepted-request timestamps, ascending). `limit` 0 = off. */
export function slidingWindowHit(times: number[], limit: number, now: number, windowMs = WINDOW_MS): LimitResult {
  if (limit <= 0) return { ok: true };
  while (times.length > 0 && times[0]! <= now - windowMs) times.shift();
  if (times.length >= limit) {
    const retryAfterSec = Math.max(1, Math.ceil((times[0]! + windowMs - now) / 1000));
    return { ok: false, retryAfterSec };
  }
  times.push(now);
  return { ok: true };
}

/** `probe`: token-route answers given without a valid token (app.ts tokenReply). */
export type IpBucket = "create" | "public" | "join" | "probe";

export interface RateLimiter {
  /** Counts one request of `bucket` for `key` (a client IP) against `limit` per minute. */
  hit(bucket: IpBucket, key: string, limit: number): Promise<LimitResult>;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async hit(bucket: IpBucket, key: string, limit: number): Promise<LimitResult> {
    if (limit <= 0) return { ok: true };
    const k = `${bucket}\u0000${key}`;
    let times = this.#windows.get(k);
    if (!times) this.#windows.set(k, (times = []));
    return slidingWindowHit(times, limit, this.#now());
  }

  /** Drops windows with no request in the last minute (called by the runtime's sweep). */
  sweep(): void {
    const cutoff = this.#now() - WINDOW_MS;
    for (const [k, times] of this.#windows) if (times.length === 0 || times[times.length - 1]! <= cutoff) this.#windows.delete(k);
  }

  get size(): number {
    return this.#windows.size;
  }
}
