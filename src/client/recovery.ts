/**
 * ICE "disconnected" after the channels opened (docs/protocol.md, ICE restart). Not terminal: ICE
 * often recovers by itself within seconds. After a grace the host restarts ICE with a new offer;
 * the guest watches the room for it (a longer grace) and answers it. Without recovery the session
 * ends as the other side having left.
 */
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import type { Negotiation } from "./negotiation.ts";
import type { Action } from "./state.ts";
import { isAbortError } from "./timers.ts";
import type { Role } from "./types.ts";

export interface RecoveryHooks {
  role(): Role;
  /** The channels opened once (only then is a restart worth it). */
  opened(): boolean;
  can(type: Action["type"]): boolean;
  /** ICE restart: forget this generation's candidates. */
  resetIce(): void;
  peerLeft(why: string): void;
}

export class Recovery {
  readonly #ctx: Ctx;
  readonly #neg: Negotiation;
  readonly #h: RecoveryHooks;
  #grace: number | undefined;
  #watch: AbortController | undefined;

  constructor(ctx: Ctx, neg: Negotiation, hooks: RecoveryHooks) {
    this.#ctx = ctx;
    this.#neg = neg;
    this.#h = hooks;
  }

  connected(): void {
    this.#ctx.timers.cancel(this.#grace);
    this.#grace = undefined;
    this.#watch?.abort();
  }

  disconnected(): void {
    const { o, timers } = this.#ctx;
    if (this.#grace !== undefined) return;
    const h = this.#h;
    const restartable = h.opened() && this.#ctx.has("restart");
    let ms = o.disconnectGraceMs ?? CLIENT_DEFAULTS.disconnectGraceMs;
    if (restartable && h.role() === "guest") {
      // The guest waits for the host's restart offer: longer than the host's own grace.
      ms += CLIENT_DEFAULTS.restartWaitMs;
      const watch = (this.#watch = new AbortController());
      void this.#answerRestart(watch.signal).catch((err) => {
        if (!isAbortError(err)) this.#ctx.fail(err);
      });
    }
    this.#grace = timers.set(() => {
      this.#grace = undefined;
      // Mid-restart (no longer restartable from this phase) or out of restarts: give up.
      if (restartable && h.role() === "host" && this.#neg.restarts < CLIENT_DEFAULTS.maxRestarts && h.can("restart")) {
        void this.#restart().catch((err) => this.#ctx.fail(err));
      } else {
        h.peerLeft("disconnected");
      }
    }, ms);
  }

  /**
   * Before the channels opened, half of connectTimeoutMs passed without a connection: one ICE
   * restart (the host offers again; the guest watches the room for that offer and answers it).
   * The bound itself is connectivity.ts's.
   */
  stalled(): void {
    if (!this.#ctx.has("restart")) return;
    // The bound's timers only run between the answer and "connected" (draining_ice), where the
    // reducer allows a restart.
    if (this.#h.role() === "host") return void this.#restart(false).catch((err) => this.#ctx.fail(err));
    const watch = (this.#watch = new AbortController());
    void this.#answerRestart(watch.signal).catch((err) => {
      if (!isAbortError(err)) this.#ctx.fail(err);
    });
  }

  /** The session ended. */
  stop(): void {
    this.#watch?.abort();
  }

  /**
   * Host: a new offer with fresh ICE credentials. A peer that is gone (e.g. its page crashed)
   * never answers: after another disconnectGraceMs without "connected" the session closes with
   * `restart_timeout` instead of waiting ~25 s for ICE "failed".
   */
  async #restart(grace = true): Promise<void> {
    const ctx = this.#ctx;
    ctx.dispatch({ type: "restart" });
    this.#h.resetIce();
    if (grace) this.#grace = ctx.timers.set(() => this.#h.peerLeft("restart_timeout"), ctx.o.disconnectGraceMs ?? CLIENT_DEFAULTS.disconnectGraceMs);
    await this.#neg.offer(true);
  }

  /** Guest: answer the host's restart offer when it comes. */
  async #answerRestart(signal: AbortSignal): Promise<void> {
    const offer = await this.#neg.awaitRestart(signal);
    this.connected(); // ends the grace; the watch is done anyway
    this.#ctx.dispatch({ type: "reoffer" });
    this.#h.resetIce();
    await this.#neg.answer(offer);
  }
}
