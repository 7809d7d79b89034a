/**
 * When each room is next due for TTL expiry, as a binary min-heap: the sweep pops only the
 * rooms whose time has come (O(log n) each) instead of visiting every room every second.
 *
 * `schedule(code, at)` is called on every write. Only an EARLIER time pushes an entry; a
 * later one (the common case: a TTL that moves forward) leaves the old entry, which fires
 * early, finds the room not yet due and is rescheduled by the caller. An entry that is no
 * longer the room's earliest is dropped when popped, so the heap holds about one entry per
 * room.
 */
export class ExpiryQueue {
  readonly #times: number[] = [];
  readonly #codes: string[] = [];
  /** The time of each room's live entry. */
  readonly #at = new Map<string, number>();

  get size(): number {
    return this.#times.length;
  }

  /** The earliest pending time, or undefined. */
  peek(): number | undefined {
    return this.#times[0];
  }

  schedule(code: string, at: number): void {
    const cur = this.#at.get(code);
    if (cur !== undefined && cur <= at) return;
    this.#at.set(code, at);
    this.#push(at, code);
  }

  /** Removes and returns the rooms due at `now` (each once; stale entries are dropped). */
  due(now: number, max = Infinity): string[] {
    const out: string[] = [];
    while (this.#times.length > 0 && this.#times[0]! <= now && out.length < max) {
      const at = this.#times[0]!;
      const code = this.#codes[0]!;
      this.#pop();
      if (this.#at.get(code) === at) {
        this.#at.delete(code);
        out.push(code);
      }
    }
    return out;
  }

  #push(at: number, code: string): void {
    const t = this.#times;
    const c = this.#codes;
    let i = t.length;
    t.push(at);
    c.push(code);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! <= at) break;
      t[i] = t[p]!;
      c[i] = c[p]!;
      i = p;
    }
    t[i] = at;
    c[i] = code;
  }

  #pop(): void {
    const t = this.#times;
    const c = this.#codes;
    const lastT = t.pop()!;
    const lastC = c.pop()!;
    const n = t.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && t[r]! < t[l]! ? r : l;
      if (t[m]! >= lastT) break;
      t[i] = t[m]!;
      c[i] = c[m]!;
      i = m;
    }
    t[i] = lastT;
    c[i] = lastC;
  }
}
