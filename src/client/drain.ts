/**
 * Reading the other side's candidates (docs/protocol.md, Candidates): the full set every 1–1.5 s
 * (the MVP); it stops on its own once the other side's end mark is in. Started once per ICE
 * generation; `reset` starts the next. (ext `fast`) The reads are `/watch` long-polls from the last
 * cursor, and pages that came with other answers (the join, the answer, the host's wait for the
 * answer) are fed in, so the loop starts from their cursor. (The older `delta` GETs are not used.)
 */
import { parseCandidatePage, parseWatchResult, type CandidatePage, type RoomStatus } from "../protocol/index.ts";
import { jitter } from "./backoff.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { END, type RemoteCandidates } from "./ice.ts";
import { isAbortError } from "./timers.ts";
import type { CandidateBody, Role } from "./types.ts";
import { WAIT_SEC } from "./room-watch.ts";

/**
 * The one rule for when a side starts reading: the guest once it applied the offer; the host once
 * a guest is in (nothing to read before). (ext `fast`) Both once the answer is through: until then
 * the reads ride on the join, the answer and the wait for the answer.
 */
export function drainDue(role: Role, moment: "offer" | "answered" | RoomStatus, fast: boolean): boolean {
  if (fast) return moment === "answered";
  return role === "host" ? moment === "joined" || moment === "paired" : moment === "offer";
}

export class Drain {
  readonly #ctx: Ctx;
  readonly #remote: RemoteCandidates;
  readonly #apply: (cs: CandidateBody[]) => void;
  #ctl: AbortController | undefined;
  /** Once per ICE generation: a drain that finished is not started again. */
  #started = false;
  /** Kept across ICE restarts: the server's sequence numbers keep counting. */
  #cursor = 0;
  #endApplied = false;

  constructor(ctx: Ctx, remote: RemoteCandidates, apply: (cs: CandidateBody[]) => void) {
    this.#ctx = ctx;
    this.#remote = remote;
    this.#apply = apply;
  }

  get active(): boolean {
    return this.#ctl !== undefined && !this.#ctl.signal.aborted;
  }

  /** (ext `fast`) The cursor for a read that carries this drain along; undefined once the end mark is in. */
  get cursor(): number | undefined {
    return this.#endApplied ? undefined : this.#cursor;
  }

  /** A page of the other side's candidates, from this loop or from another answer that carried one. */
  feed(page: CandidatePage): void {
    if (page.lastSeq !== undefined) this.#cursor = page.lastSeq;
    this.#apply(this.#remote.take(this.#remote.diff(page.items)));
    if (page.complete && !this.#endApplied) {
      this.#endApplied = true;
      this.#apply(this.#remote.take([END]));
    }
  }

  start(): void {
    // Once per generation, and not at all when the end mark already came with another answer, or
    // once the session ended (a description applied after close() must not start a loop with its
    // own controller: nothing would stop it).
    if (this.#started || this.#endApplied || this.#ctx.signal.aborted) return;
    this.#started = true;
    const ctl = (this.#ctl = new AbortController());
    void this.#loop(ctl.signal).catch((err) => {
      if (!isAbortError(err)) this.#ctx.fail(err);
    });
  }

  stop(): void {
    this.#ctl?.abort();
  }

  /** ICE restart: the server forgot the old candidates; the next start reads the new ones. */
  reset(): void {
    this.stop();
    this.#started = false;
    this.#endApplied = false;
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const ctx = this.#ctx;
    while (!signal.aborted) {
      const held = ctx.has("fast");
      const page = held
        ? parseWatchResult((await ctx.post("/watch", { since: this.#cursor, wait: WAIT_SEC }, signal)).body).candidates
        : parseCandidatePage((await ctx.get("/candidates", signal)).body);
      if (page) this.feed(page);
      // Everything the other side will send is here.
      if (this.#endApplied) return this.stop();
      // Polling (no long-poll, or an answer without the page we asked for): the drain interval.
      if (!held || !page) {
        const ms =
          ctx.o.iceDrainIntervalMs ?? jitter(CLIENT_DEFAULTS.iceDrainMinMs, CLIENT_DEFAULTS.iceDrainMaxMs, ctx.random);
        await ctx.timers.sleep(ms, signal);
      }
    }
  }
}
