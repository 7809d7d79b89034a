/**
 * Process-wide ceilings on things a client holds open (Node: held long-polls, connections):
 * a count per client key (ipKey) and a total. Pure bookkeeping, no timers; the runtime
 * acquires a slot before it holds something and releases it exactly once after.
 * A limit of 0 is off.
 */
export type Refusal = "per_ip" | "total";

export class SlotLimiter {
  readonly #perKey = new Map<string, number>();
  #total = 0;

  constructor(
    readonly perKeyLimit: number,
    readonly totalLimit: number,
  ) {}

  get total(): number {
    return this.#total;
  }

  count(key: string): number {
    return this.#perKey.get(key) ?? 0;
  }

  /** Takes a slot for `key`, or says which ceiling refused it (then nothing is taken). */
  acquire(key: string): Refusal | null {
    if (this.totalLimit > 0 && this.#total >= this.totalLimit) return "total";
    const n = this.#perKey.get(key) ?? 0;
    if (this.perKeyLimit > 0 && n >= this.perKeyLimit) return "per_ip";
    this.#perKey.set(key, n + 1);
    this.#total++;
    return null;
  }

  release(key: string): void {
    const n = this.#perKey.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#perKey.delete(key);
    else this.#perKey.set(key, n - 1);
    this.#total--;
  }
}

/**
 * What the room host asks before it holds a long-poll (server/room-host.ts `HoldGate`):
 * one slot of the caller's IP and of the process total, taken at the first hold and given
 * back when the call ends.
 */
export interface HoldGate {
  acquire(): Refusal | null;
  release(): void;
}

export function holdGate(slots: SlotLimiter, key: string): HoldGate {
  let held = false;
  return {
    acquire() {
      if (held) return null;
      const r = slots.acquire(key);
      held = r === null;
      return r;
    },
    release() {
      if (held) slots.release(key);
      held = false;
    },
  };
}
