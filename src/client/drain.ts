/**
 * Reading the other side's candidates (docs/protocol.md, Candidates): a delta long-poll from the
 * last cursor when the server has `delta`, else the full set every 1–1.5 s; it stops on its own
 * once the other side's end mark is in. Started once per ICE generation; `reset` starts the next.
 */
import { parseCandidatePage, type RoomStatus } from "../protocol/index.ts";
import { jitter } from "./backoff.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { END, type RemoteCandidates } from "./ice.ts";
import { isAbortError } from "./timers.ts";
import type { CandidateBody, Role } from "./types.ts";
import { WAIT_SEC } from "./room-watch.ts";

/**
 * The one rule for when a side starts reading: the guest right at connect when the server has
 * `delta` (the long-poll then waits next to the offer read), else once it applied the offer; the
 * host once a guest is in (nothing to read before).
 */
export function drainDue(role: Role, moment: "connect" | "offer" | RoomStatus, delta: boolean): boolean {
  if (role === "host") return moment === "joined" || moment === "paired";
  return moment === "offer" || (moment === "connect" && delta);
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

  start(): void {
    if (this.#started) return;
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
      const delta = ctx.has("delta");
      const { body } = await ctx.get("/candidates", delta ? `?since=${this.#cursor}&wait=${WAIT_SEC}` : "", signal);
      const page = parseCandidatePage(body);
      if (page.lastSeq !== undefined) this.#cursor = page.lastSeq;
      this.#apply(this.#remote.take(this.#remote.diff(page.items)));
      if (page.complete && !this.#endApplied) {
        this.#endApplied = true;
        this.#apply(this.#remote.take([END]));
      }
      // Everything the other side will send is here.
      if (this.#endApplied) return this.stop();
      if (!delta) {
        const ms = ctx.o.iceDrainIntervalMs ?? jitter(CLIENT_DEFAULTS.iceDrainMinMs, CLIENT_DEFAULTS.iceDrainMaxMs, ctx.random);
        await ctx.timers.sleep(ms, signal);
      }
    }
  }
}
