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
 * - `sweep()` applies TTL expiry to every stored room (waking waiters of rooms that closed
 *   or went away) and deletes gone tombstones. Node schedules it with an unref'd interval
 *   (server/node.ts); a DO would call it from an alarm at the room's `expiresAt`.
 * - `close()` answers every pending long-poll at once with what there is (200 snapshot or
 *   delta) and refuses to hold new ones, for a graceful shutdown.
 * - A storage that can also answer synchronously (`SyncRoomStorage`, the in-memory one) lets
 *   an op on a room with nothing queued run at once, in one turn: nothing can interleave
 *   with it, so it needs no queue entry and none of the queue's Promise hops. Async storage
 *   (a Durable Object's) always goes through the queue.
 */
import { applyOp, unnamed, type OpResult, type RoomConfig, type RoomRecord, type RoomReply, type RoomRequest, type WaitOn } from "./room.ts";

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
}

function isSync(s: RoomStorage): s is SyncRoomStorage {
  return typeof (s as Partial<SyncRoomStorage>).getSync === "function";
}

export type SignalSource = AbortSignal | (() => AbortSignal);

export interface RoomDirectory {
  call(code: string, req: RoomRequest, signal?: SignalSource): Promise<RoomReply>;
}

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
}

export interface RoomHostOptions {
  storage: RoomStorage;
  config: RoomConfig;
  now?: () => number;
}

export class RoomHost implements RoomDirectory {
  readonly #storage: RoomStorage;
  readonly #sync: SyncRoomStorage | null;
  readonly #config: RoomConfig;
  readonly #now: () => number;
  /** Tail of each room's queue of operations: one op at a time per room. */
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  #closing = false;

  constructor(opts: RoomHostOptions) {
    this.#storage = opts.storage;
    this.#sync = isSync(opts.storage) ? opts.storage : null;
    this.#config = opts.config;
    this.#now = opts.now ?? Date.now;
  }

  /** Number of held long-polls (for tests and shutdown). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#waiters.values()) n += s.size;
    return n;
  }

  async call(code: string, req: RoomRequest, signalSource?: SignalSource): Promise<RoomReply> {
    const st: CallState = { deadline: undefined, held: undefined, signalSource, signal: undefined };
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
          : await this.#serial(code, async () => this.#decide(code, await this.#apply(code, req, { resume, final }), st));
      if (out.reply) return out.reply;
      if (st.held) {
        const why = await st.held;
        if (why === "abort") return { status: 499, error: "bad_request", message: "Client went away." };
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
      const src = st.signalSource;
      const signal = (st.signal ??= typeof src === "function" ? src() : src);
      st.deadline ??= this.#now() + r.wait.ms;
      const remaining = st.deadline - this.#now();
      if (remaining > 0 && !this.#closing && !signal?.aborted) st.held = this.#hold(code, r.wait.on, remaining, signal);
    }
    return r;
  }

  /** TTL expiry for every room; wakes waiters of rooms that changed. */
  async sweep(): Promise<void> {
    const sync = this.#sync;
    for (const code of await this.#storage.codes()) {
      if (sync && !this.#queues.has(code)) this.#applySync(sync, code, { op: "tick" }, {});
      else await this.#serial(code, () => this.#apply(code, { op: "tick" }, {}));
    }
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
  #applySync(storage: SyncRoomStorage, code: string, req: RoomRequest, flags: { resume?: boolean; final?: boolean }): OpResult {
    const out = applyOp(storage.getSync(code) ?? null, req, { now: this.#now(), config: this.#config, ...flags });
    if (out.write) {
      if (out.record) storage.putSync(code, out.record);
      else storage.deleteSync(code);
    }
    this.#notify(code, out);
    return out;
  }

  async #apply(code: string, req: RoomRequest, flags: { resume?: boolean; final?: boolean }): Promise<OpResult> {
    const rec = (await this.#storage.get(code)) ?? null;
    const out = applyOp(rec, req, { now: this.#now(), config: this.#config, ...flags });
    if (out.write) {
      if (out.record) await this.#storage.put(code, out.record);
      else await this.#storage.delete(code);
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
