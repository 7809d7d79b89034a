/**
 * The holder of rooms: runs the room rules (server/room.ts) one request at a time per room
 * on top of an async storage, and keeps the long-poll waiters.
 *
 * Seams:
 * - `RoomStorage` is the small async storage interface. Node uses `MemoryRoomStorage` (a
 *   Map). A Cloudflare Durable Object can back a `RoomHost` with its own storage (one key,
 *   its room) and reuse this class unchanged: the per-room queue, the waiters and their
 *   deadlines (setTimeout, available in workerd) all live here, not in the room rules.
 * - `RoomDirectory` is what server/app.ts talks to: `call(code, request, signal)` → reply.
 *   The signal (the client went away) may be given as a getter: it is only looked at when a
 *   request is about to be held, so most requests never make one (on Node, an AbortController
 *   per request).
 *   Node: a `RoomHost` over all rooms. Workers: a stub that forwards to the room's DO.
 * - `sweep()` applies TTL expiry (waking waiters of rooms that closed or went away) and
 *   deletes gone tombstones. On synchronous storage it visits only the rooms that are due,
 *   from a min-heap of expiry times (server/expiry.ts), at most SWEEP_BATCH per call; Node
 *   calls it from an unref'd interval. On async storage (a DO: one room) it visits every
 *   stored room, from the object's alarm.
 * - Ceilings: `maxRooms` (a create past it answers 503 with Retry-After, synchronous
 *   storage only), `maxHoldsPerRoom` (a long-poll past it answers 429), and an optional
 *   per-call `HoldGate` (per-IP and total held long-polls, server/limits-global.ts).
 * - `close()` answers every pending long-poll at once with what there is (200 snapshot or
 *   delta) and refuses to hold new ones, for a graceful shutdown.
 * - A storage that can also answer synchronously (`SyncRoomStorage`, the in-memory one) lets
 *   an op on a room with nothing queued run at once, in one turn: nothing can interleave
 *   with it, so it needs no queue entry and none of the queue's Promise hops. Async storage
 *   (a Durable Object's) always goes through the queue.
 */
import {
  applyOp,
  unnamed,
  type OpResult,
  type RoomConfig,
  type RoomRecord,
  type RoomReply,
  type RoomRequest,
  type WaitOn,
} from "./room.ts";
import { ExpiryQueue } from "./expiry.ts";
import type { HoldGate } from "./limits-global.ts";

export interface RoomStorage {
  get(code: string): Promise<RoomRecord | undefined>;
  put(code: string, record: RoomRecord): Promise<void>;
  delete(code: string): Promise<void>;
  /** Every stored room code (for the sweep). */
  codes(): Promise<string[]>;
}

/** Storage that can also be read and written synchronously (in memory). */
export interface SyncRoomStorage extends RoomStorage {
  getSync(code: string): RoomRecord | undefined;
  putSync(code: string, record: RoomRecord): void;
  deleteSync(code: string): void;
  /** Rooms stored (tombstones included). */
  readonly size: number;
}

function isSync(s: RoomStorage): s is SyncRoomStorage {
  return typeof (s as Partial<SyncRoomStorage>).getSync === "function";
}

export type SignalSource = AbortSignal | (() => AbortSignal);

export interface RoomDirectory {
  /** `gate`, when given, must allow a long-poll before it is held (it is released when the call ends). */
  call(code: string, req: RoomRequest, signal?: SignalSource, gate?: HoldGate): Promise<RoomReply>;
}

/** Rooms expired per sweep() at most: a burst of expiries is spread over several sweeps. */
export const SWEEP_BATCH = 2000;
/** Retry-After for a refused long-poll: a held one ends within LONGPOLL_MAX_SEC. */
const HOLD_RETRY_SEC = 5;

export class MemoryRoomStorage implements SyncRoomStorage {
  readonly #rooms = new Map<string, RoomRecord>();
  getSync(code: string) {
    return this.#rooms.get(code);
  }
  putSync(code: string, record: RoomRecord) {
    this.#rooms.set(code, record);
  }
  deleteSync(code: string) {
    this.#rooms.delete(code);
  }
  async get(code: string) {
    return this.#rooms.get(code);
  }
  async put(code: string, record: RoomRecord) {
    this.#rooms.set(code, record);
  }
  async delete(code: string) {
    this.#rooms.delete(code);
  }
  async codes() {
    return [...this.#rooms.keys()];
  }
  get size() {
    return this.#rooms.size;
  }
}

type WakeReason = "wake" | "timeout" | "abort" | "shutdown";

interface Waiter {
  on: WaitOn;
  wake(reason: WakeReason): void;
}

interface CallState {
  /** When a held request must be answered anyway (set at its first hold). */
  deadline: number | undefined;
  held: Promise<WakeReason> | undefined;
  signalSource: SignalSource | undefined;
  /** The signal, once a hold needed it. */
  signal: AbortSignal | undefined;
  gate: HoldGate | undefined;
}

export interface RoomHostOptions {
  storage: RoomStorage;
  config: RoomConfig;
  now?: () => number;
  /** Live (not closed) rooms held at once (synchronous storage); 0 = no ceiling. */
  maxRooms?: number;
  /** Long-polls held at once per room; 0 = no ceiling. */
  maxHoldsPerRoom?: number;
}

export class RoomHost implements RoomDirectory {
  readonly #storage: RoomStorage;
  readonly #sync: SyncRoomStorage | null;
  readonly #config: RoomConfig;
  readonly #now: () => number;
  /** Tail of each room's queue of operations: one op at a time per room. */
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #expiry = new ExpiryQueue();
  readonly #maxRooms: number;
  readonly #maxHoldsPerRoom: number;
  /** Live rooms in synchronous storage (tombstones are not counted). */
  #live = 0;
  #closing = false;

  constructor(opts: RoomHostOptions) {
    this.#storage = opts.storage;
    this.#sync = isSync(opts.storage) ? opts.storage : null;
    this.#config = opts.config;
    this.#now = opts.now ?? Date.now;
    this.#maxRooms = opts.maxRooms ?? 0;
    this.#maxHoldsPerRoom = opts.maxHoldsPerRoom ?? 0;
  }

  /** Number of held long-polls (for tests and shutdown). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#waiters.values()) n += s.size;
    return n;
  }

  async call(code: string, req: RoomRequest, signalSource?: SignalSource, gate?: HoldGate): Promise<RoomReply> {
    if (req.op === "create" && this.#sync && this.#maxRooms > 0 && this.#live >= this.#maxRooms) {
      // Full: the earliest expiry says when a place frees up.
      const next = this.#expiry.peek();
      const retryAfterSec = Math.min(60, Math.max(1, next === undefined ? 60 : Math.ceil((next - this.#now()) / 1000)));
      return { status: 503, error: "unavailable", message: "The Registry is full; retry later.", retryAfterSec };
    }
    const st: CallState = { deadline: undefined, held: undefined, signalSource, signal: undefined, gate };
    try {
      return await this.#run(code, req, st);
    } finally {
      gate?.release();
    }
  }

  async #run(code: string, req: RoomRequest, st: CallState): Promise<RoomReply> {
    let resume = false;
    let final = false;
    for (;;) {
      // The waiter is registered inside the room's queue, in the same turn as the decision
      // to wait, so no change can slip between "nothing new" and "listening".
      st.held = undefined;
      const sync = this.#sync;
      const out =
        sync && !this.#queues.has(code)
          ? this.#decide(code, this.#applySync(sync, code, req, { resume, final }), st)
          : await this.#serial(code, async () =>
              this.#decide(code, await this.#apply(code, req, { resume, final }), st),
            );
      if (out.reply) return out.reply;
      if (st.held) {
        const why = await st.held;
        // Nobody reads it; 499 (as nginx logs a client that closed the connection) keeps an
        // abandoned long-poll out of the log's 4xx errors.
        if (why === "abort") return { status: 499 };
        if (why !== "wake") final = true;
      } else {
        final = true;
      }
      resume = true;
    }
  }

  /** A request the room wants held: register its waiter now (same turn), until its deadline. */
  #decide(code: string, r: OpResult, st: CallState): OpResult {
    if (!r.reply && r.wait) {
      // Ceilings are checked at the first hold only: a woken request keeps its place.
      if (st.deadline === undefined && !this.#closing) {
        const refusal = this.#admit(code, st);
        if (refusal) return { ...r, reply: refusal };
      }
      const src = st.signalSource;
      const signal = (st.signal ??= typeof src === "function" ? src() : src);
      st.deadline ??= this.#now() + r.wait.ms;
      const remaining = st.deadline - this.#now();
      if (remaining > 0 && !this.#closing && !signal?.aborted) st.held = this.#hold(code, r.wait.on, remaining, signal);
    }
    return r;
  }

  /** Per-room, then per-IP and total held long-polls: null to hold, else the answer. */
  #admit(code: string, st: CallState): RoomReply | null {
    if (this.#maxHoldsPerRoom > 0 && (this.#waiters.get(code)?.size ?? 0) >= this.#maxHoldsPerRoom) {
      return {
        status: 429,
        error: "rate_limited",
        message: "Too many long-polls on this room.",
        retryAfterSec: HOLD_RETRY_SEC,
      };
    }
    const why = st.gate?.acquire() ?? null;
    if (why === "per_ip")
      return {
        status: 429,
        error: "rate_limited",
        message: "Too many long-polls from this address.",
        retryAfterSec: HOLD_RETRY_SEC,
      };
    if (why === "total")
      return {
        status: 503,
        error: "unavailable",
        message: "The Registry holds too many long-polls; retry later.",
        retryAfterSec: HOLD_RETRY_SEC,
      };
    return null;
  }

  /** TTL expiry; wakes waiters of rooms that changed. See the file header. */
  async sweep(): Promise<void> {
    const sync = this.#sync;
    if (sync) {
      for (const code of this.#expiry.due(this.#now(), SWEEP_BATCH)) {
        if (this.#queues.has(code)) await this.#serial(code, () => this.#apply(code, { op: "tick" }, {}));
        else this.#applySync(sync, code, { op: "tick" }, {});
        // Not due after all (its TTL moved on), or a tombstone now: due again later.
        const rec = sync.getSync(code);
        if (rec) this.#expiry.schedule(code, rec.expiresAt);
      }
      return;
    }
    for (const code of await this.#storage.codes())
      await this.#serial(code, () => this.#apply(code, { op: "tick" }, {}));
  }

  /** Live (not closed) rooms, as MAX_ROOMS counts them (synchronous storage). */
  get live(): number {
    return this.#live;
  }

  /** Entries in the expiry heap (tests and the bench). */
  get scheduled(): number {
    return this.#expiry.size;
  }

  /** Answers all pending long-polls now and holds no new ones. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const set of this.#waiters.values()) for (const w of [...set]) w.wake("shutdown");
    // Let the woken requests run their final pass.
    const tails = [...this.#queues.values()];
    await Promise.allSettled(tails);
  }

  /** `#apply` in one turn, for a room with nothing queued on synchronous storage. */
  #applySync(
    storage: SyncRoomStorage,
    code: string,
    req: RoomRequest,
    flags: { resume?: boolean; final?: boolean },
  ): OpResult {
    const before = storage.getSync(code);
    const wasLive = before !== undefined && before.status !== "closed";
    const out = applyOp(before ?? null, req, { now: this.#now(), config: this.#config, ...flags });
    if (out.write) {
      this.#live += (out.record !== null && out.record.status !== "closed" ? 1 : 0) - (wasLive ? 1 : 0);
      if (out.record) {
        storage.putSync(code, out.record);
        this.#expiry.schedule(code, out.record.expiresAt);
      } else storage.deleteSync(code);
    }
    this.#notify(code, out);
    return out;
  }

  async #apply(code: string, req: RoomRequest, flags: { resume?: boolean; final?: boolean }): Promise<OpResult> {
    const rec = (await this.#storage.get(code)) ?? null;
    const wasLive = rec !== null && rec.status !== "closed";
    const out = applyOp(rec, req, { now: this.#now(), config: this.#config, ...flags });
    if (out.write) {
      this.#live += (out.record !== null && out.record.status !== "closed" ? 1 : 0) - (wasLive ? 1 : 0);
      if (out.record) {
        await this.#storage.put(code, out.record);
        if (this.#sync) this.#expiry.schedule(code, out.record.expiresAt);
      } else await this.#storage.delete(code);
    }
    this.#notify(code, out);
    return out;
  }

  #notify(code: string, out: OpResult): void {
    const set = this.#waiters.get(code);
    if (!set) return;
    const gone = out.write && !out.record;
    for (const w of [...set]) {
      if (gone || wakes(w.on, out)) w.wake("wake");
    }
  }

  #hold(code: string, on: WaitOn, ms: number, signal?: AbortSignal): Promise<WakeReason> {
    return new Promise<WakeReason>((resolve) => {
      let set = this.#waiters.get(code);
      if (!set) this.#waiters.set(code, (set = new Set()));
      const waiter: Waiter = {
        on,
        // Unnamed closures (see room.ts applyOp): no __name() per held request under tsx.
        wake: unnamed((reason: WakeReason) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const s = this.#waiters.get(code);
          if (s) {
            s.delete(waiter);
            if (s.size === 0) this.#waiters.delete(code);
          }
          resolve(reason);
        }),
      };
      const onAbort = unnamed(() => waiter.wake("abort"));
      const timer = setTimeout(() => waiter.wake("timeout"), ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
    });
  }

  #serial<T>(code: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(code) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(code, tail);
    // Drop the queue entry once idle so the map does not grow with every room ever seen.
    void tail.then(() => {
      if (this.#queues.get(code) === tail) this.#queues.delete(code);
    });
    return run;
  }
}

/** Does this op's change wake a waiter listening on `on`? */
function wakes(on: WaitOn, out: OpResult): boolean {
  if (typeof on === "string") return out.changed[on];
  for (const k of on) if (out.changed[k]) return true;
  return false;
}
