/**
 * Recovering an open connection (README, Recovery; docs/protocol.md, ICE restart). Trouble is ICE
 * "disconnected" or "failed", or a peer whose heartbeats stopped. It is told at once
 * (onReconnecting); after a short grace (none on "failed") the host restarts ICE with a new offer,
 * and again after a growing cooldown if ICE still does not come back, at most maxRestarts times.
 * The guest answers every newer offer it sees (its offer watch). While the browser is offline no
 * attempt starts (none is spent); `online` starts one at once and ends every backoff wait. A
 * recovery that has not succeeded within reconnectWindowMs ends the session.
 *
 * Before the channels first opened there is nothing to recover: "failed" ends the attempt and
 * "disconnected" gets the grace to come back by itself.
 */
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { ClosedError } from "./errors.ts";
import type { Negotiation } from "./negotiation.ts";
import type { Action } from "./state.ts";
import { isAbortError } from "./timers.ts";
import type { ReconnectReason, Role } from "./types.ts";

export interface RecoveryHooks {
  role(): Role;
  /** The channels opened once (only then is there a connection to recover). */
  opened(): boolean;
  can(type: Action["type"]): boolean;
  /** ICE restart: forget this generation's candidates. */
  resetIce(): void;
  peerLeft(why: string): void;
  reconnecting(reason: ReconnectReason): void;
  reconnected(afterMs: number): void;
  /** The network is back: every backoff wait ends now. */
  kick(): void;
  /** When the Registry last answered us (nowMs), to tell "our network" from "the peer" at the end. */
  lastContact(): number;
}

/** Cooldown before restart number n+1 (n >= 1): doubles each time. */
export function restartCooldown(n: number): number {
  return CLIENT_DEFAULTS.restartCooldownMs * 2 ** (n - 1);
}

export class Recovery {
  readonly #ctx: Ctx;
  readonly #neg: Negotiation;
  readonly #h: RecoveryHooks;
  /** nowMs() when the current trouble was noticed; undefined while healthy. */
  #since: number | undefined;
  #window: number | undefined;
  /** The next attempt (or, before open, the end of the disconnect grace). */
  #next: number | undefined;
  /** Host: a restart offer is out, its answer not yet applied. */
  #inFlight = false;
  /** Restarts begun in this recovery (the budget). */
  #tries = 0;
  #online = true;
  #waitingOnline = false;
  #unlisten: (() => void) | undefined;
  /** Guest: the watch for newer offers. */
  #watch: AbortController | undefined;

  constructor(ctx: Ctx, neg: Negotiation, hooks: RecoveryHooks) {
    this.#ctx = ctx;
    this.#neg = neg;
    this.#h = hooks;
  }

  get recovering(): boolean {
    return this.#since !== undefined;
  }

  /** The session started: follow the browser's online state until stop(). */
  start(): void {
    const net = this.#ctx.o.network;
    if (!net) return;
    this.#online = net.online();
    this.#unlisten = net.listen((online) => this.#onNetwork(online));
  }

  trouble(reason: ReconnectReason): void {
    const { o, timers } = this.#ctx;
    const h = this.#h;
    const grace = o.disconnectGraceMs ?? CLIENT_DEFAULTS.disconnectGraceMs;
    if (!h.opened()) {
      // (ICE "failed" before open is connectivity's ConnectionFailedError, never trouble.)
      this.#next ??= timers.set(() => h.peerLeft("disconnected"), grace);
      return;
    }
    if (this.#since === undefined) {
      this.#since = o.nowMs();
      h.reconnecting(reason);
      this.#window = timers.set(
        () => h.peerLeft(this.#closeReason()),
        o.reconnectWindowMs ?? CLIENT_DEFAULTS.reconnectWindowMs,
      );
      if (h.role() === "guest") this.watchOffers(true);
    }
    // A silent peer alone (ICE still "connected": a frozen or overloaded page) is not worth a
    // restart from the room's budget: ICE says soon enough when the path is really gone.
    if (reason === "peer_unresponsive" || this.#inFlight) return;
    if (reason === "failed") this.#schedule(0);
    else if (this.#next === undefined && this.#tries === 0) this.#schedule(grace);
  }

  /**
   * Healthy again (ICE connected and the peer heard). Before open this only ends the disconnect
   * grace; during a recovery it ends it (a restart offer still out completes on its own).
   */
  recovered(): void {
    const timers = this.#ctx.timers;
    timers.cancel(this.#next);
    this.#next = undefined;
    if (this.#since === undefined) return;
    const after = this.#ctx.o.nowMs() - this.#since;
    timers.cancel(this.#window);
    this.#since = undefined;
    this.#tries = 0;
    this.#waitingOnline = false;
    if (!this.#ctx.has("fast")) this.#watch?.abort();
    this.#h.reconnected(after);
    // Requests stuck on a connection that died during the trouble go again now.
    this.#h.kick();
  }

  /**
   * Before the channels opened, half of connectTimeoutMs passed without a connection: one ICE
   * restart (the host offers again; the guest's offer watch answers it). The bound itself is
   * connectivity.ts's.
   */
  stalled(): void {
    const ctx = this.#ctx;
    if (!ctx.has("restart")) return;
    if (this.#h.role() === "guest") {
      this.watchOffers(true);
      return;
    }
    // The bound's timers only run between the answer and "connected" (draining_ice), where the
    // reducer allows a restart; it fires once.
    this.#inFlight = true;
    ctx.dispatch({ type: "restart" });
    this.#h.resetIce();
    void this.#neg.offer(true).then(
      () => {
        this.#inFlight = false;
      },
      (err: unknown) => {
        if (!isAbortError(err)) ctx.fail(err);
      },
    );
  }

  /** The session ended. */
  stop(): void {
    this.#watch?.abort();
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  /**
   * Guest: answer every newer offer the host posts (an ICE restart, or the host's "Try again"),
   * from the first answer until the session ends. Without `fast` (no long-poll: a read per
   * second) only while recovering (`recovering`).
   */
  watchOffers(recovering = false): void {
    // Its own controller: never one after the session ended (an app callback that closed it).
    if ((this.#watch && !this.#watch.signal.aborted) || this.#ctx.signal.aborted) return;
    if (!recovering && !this.#ctx.has("fast")) return;
    const watch = (this.#watch = new AbortController());
    void this.#answerOffers(watch.signal).catch((err) => {
      // Stopped meanwhile (the session ended, e.g. the peer's "bye" beat the room's 410): done.
      if (isAbortError(err) || watch.signal.aborted) return;
      // The other side closed the room (its /close can beat its "bye"): a close, not an error.
      if (err instanceof ClosedError) return this.#h.peerLeft("closed");
      this.#ctx.fail(err);
    });
  }

  async #answerOffers(signal: AbortSignal): Promise<void> {
    for (;;) {
      const offer = await this.#neg.awaitRestart(signal, () => this.recovering);
      // Answering the previous offer (posting_answer) is sequential here, so this always applies.
      this.#ctx.dispatch({ type: "reoffer" });
      this.#h.resetIce();
      await this.#neg.answer(offer);
    }
  }

  #closeReason(): string {
    // Our own Registry requests failed all along: it is our network; else the peer is gone.
    return this.#h.lastContact() >= this.#since! ? "peer_unresponsive" : "connection_lost";
  }

  #schedule(ms: number): void {
    this.#ctx.timers.cancel(this.#next);
    this.#next = this.#ctx.timers.set(() => {
      this.#next = undefined;
      this.#attempt();
    }, ms);
  }

  #attempt(): void {
    const ctx = this.#ctx;
    const h = this.#h;
    if (!this.#online) {
      // Offline: wait for `online` without spending the budget.
      this.#waitingOnline = true;
      return;
    }
    // The guest's part is its offer watch; the host restarts, one offer at a time, within budget.
    if (
      h.role() !== "host" ||
      !ctx.has("restart") ||
      this.#inFlight ||
      this.#tries >= CLIENT_DEFAULTS.maxRestarts ||
      !h.can("restart")
    )
      return;
    this.#tries++;
    this.#inFlight = true;
    ctx.dispatch({ type: "restart" });
    h.resetIce();
    void this.#neg.offer(true).then(
      () => {
        this.#inFlight = false;
        // Answered: if ICE is not back after the cooldown, another restart.
        if (this.#since !== undefined) this.#schedule(restartCooldown(this.#tries));
      },
      (err: unknown) => {
        if (!isAbortError(err)) ctx.fail(err);
      },
    );
  }

  #onNetwork(online: boolean): void {
    this.#online = online;
    if (!online) return;
    this.#h.kick();
    if (this.#waitingOnline || (this.#since !== undefined && !this.#inFlight)) {
      this.#waitingOnline = false;
      this.#schedule(0);
    }
  }
}
