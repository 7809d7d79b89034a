/**
 * Posting our candidates (docs/protocol.md, Candidates): validated, deduplicated and capped by
 * LocalCandidates, then sent as they come, one request in flight; what arrives meanwhile goes out
 * next, as one batch when the server has `batch`. Nothing goes before `start()` (the offer or
 * answer is posted first).
 */
import { LIMITS } from "../protocol/index.ts";
import { ClosedError, ForbiddenError, NotFoundError } from "./errors.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import type { LocalCandidates } from "./ice.ts";
import { isAbortError } from "./timers.ts";
import type { CandidateBody } from "./types.ts";

/**
 * Whether the end-of-candidates mark goes in this post (needs `end`, and nothing left behind).
 * Without batch a candidate goes first and the end mark alone after it. With batch and held reads
 * (`fast`) the mark only rides along with candidates: the other side's drain is a held long-poll
 * either way (stopped ~2 cycles after open), so a post of the mark alone would cost a request and
 * save none.
 */
export function endMarkGoes(p: {
  ended: boolean;
  left: number;
  items: number;
  end: boolean;
  batch: boolean;
  held: boolean;
}): boolean {
  if (!p.ended || p.left > 0 || !p.end) return false;
  return p.batch ? p.items > 0 || !p.held : p.items === 0;
}

export class Publisher {
  readonly #ctx: Ctx;
  readonly local: LocalCandidates;
  #ready = false;
  #pending: CandidateBody[] = [];
  /** Gathering ended: the end mark is owed. */
  #ended = false;
  #busy = false;
  /** (ext `fast`) This generation's first post already waited for its burst. */
  #coalesced = false;

  constructor(ctx: Ctx, local: LocalCandidates) {
    this.#ctx = ctx;
    this.local = local;
  }

  /** A gathered candidate, or null at the end of gathering (not worth a request once open). */
  gathered(c: CandidateBody | null, open: boolean): void {
    if (c === null) {
      if (!open) this.#ended = true;
    } else {
      const v = this.local.admit(c);
      if (!v.ok) {
        if (v.error) this.#ctx.emit("onError", v.error);
        return;
      }
      this.#ctx.emit("onCandidateLocal", v.body);
      this.#pending.push(v.body);
    }
    void this.#flush();
  }

  start(): void {
    this.#ready = true;
    void this.#flush();
  }

  /**
   * (ext `fast`) What was gathered before start(), for the answer to carry (at most a batch), and
   * the end mark when gathering is over and nothing is left: then no post is owed for them.
   */
  takeForAnswer(): { items: CandidateBody[]; end: boolean } {
    const items = this.#pending.splice(0, LIMITS.batchItems);
    const end = this.#ended && this.#pending.length === 0 && this.#ctx.has("end");
    if (end) this.#ended = false;
    return { items, end };
  }

  /** ICE restart: the server cleared our candidates; nothing goes out until the new offer/answer. */
  reset(): void {
    this.local.reset();
    this.#ready = false;
    this.#pending = [];
    this.#ended = false;
    this.#coalesced = false;
  }

  async #flush(): Promise<void> {
    const ctx = this.#ctx;
    if (!this.#ready || this.#busy || ctx.signal.aborted) return;
    // (ext `fast`) A browser gathers its candidates a few ms apart: the first post waits for the
    // rest of the burst, so they go as one, and wake the other side's drain once.
    if (!this.#coalesced && this.#pending.length > 0 && ctx.has("fast")) {
      this.#coalesced = this.#busy = true;
      ctx.timers.set(() => {
        this.#busy = false;
        void this.#flush();
      }, CLIENT_DEFAULTS.coalesceMs);
      return;
    }
    const batch = ctx.has("batch");
    const items = batch ? this.#pending.splice(0) : this.#pending.splice(0, 1);
    const end = endMarkGoes({
      ended: this.#ended,
      left: this.#pending.length,
      items: items.length,
      end: ctx.has("end"),
      batch,
      held: ctx.has("fast"),
    });
    if (items.length === 0 && !end) return;
    if (end) this.#ended = false;
    const body = batch ? { items, ...(end ? { end: true } : {}) } : items.length ? items[0] : { end: true };
    this.#busy = true;
    try {
      await ctx.post("/candidate", body);
    } catch (err) {
      if (isAbortError(err)) return;
      // A lost candidate is not fatal (others may do); a dead room is.
      if (err instanceof ClosedError || err instanceof NotFoundError || err instanceof ForbiddenError)
        return ctx.fail(err);
      ctx.emit("onError", err as Error);
    } finally {
      this.#busy = false;
    }
    return this.#flush();
  }
}
