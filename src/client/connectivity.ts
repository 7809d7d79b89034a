/**
 * Getting the two browsers connected at all (issue #10): which ICE servers the connection uses
 * (the page's, else the Registry's; relay-only), fresh Registry credentials before an ICE
 * restart, the bound on connecting (connectTimeoutMs once both descriptions are set: one ICE
 * restart at half of it, then ConnectionFailedError; as long again from ICE connected for the
 * channels to open, then ChannelMismatchError), and the route the connection took.
 */
import { type IceGrant, parseIceGrant } from "../protocol/index.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import {
  CONNECT_FAILURE_MESSAGES,
  failureCause,
  grantExpiring,
  isRelayOnly,
  pageOwnsIce,
  relayOffered,
  sessionConfig,
} from "./ice-config.ts";
import { ChannelMismatchError, ConnectionFailedError } from "./errors.ts";
import { type IceRoute, routeFromPair, routeFromStats } from "./route.ts";

export interface ConnectivityHooks {
  /** The session's connection, once made. */
  pc(): RTCPeerConnection | undefined;
  /** Half the bound ran out: one ICE restart (host: new offer; guest: answer the host's). */
  stalled(): void;
}

export class Connectivity {
  readonly #ctx: Ctx;
  readonly #h: ConnectivityHooks;
  #grant: IceGrant | null = null;
  /** The configuration the connection has now (to skip a setConfiguration that changes nothing). */
  #applied = "";
  #half: number | undefined;
  #bound: number | undefined;
  #armed = false;
  /** ICE connected once (the connect bound is then the channels'). */
  #iceUp = false;
  route: IceRoute | null = null;

  constructor(ctx: Ctx, hooks: ConnectivityHooks) {
    this.#ctx = ctx;
    this.#h = hooks;
  }

  /** A create / join / ice-servers answer: the Registry's servers for this player, if it sent some. */
  noteGrant(body: unknown): void {
    const g = parseIceGrant(body);
    if (g) this.#grant = g;
  }

  get relayOnly(): boolean {
    return isRelayOnly(this.#ctx.o.rtcConfiguration, this.#ctx.o.relayOnly);
  }

  /** The RTCConfiguration to use now. */
  config(): RTCConfiguration {
    return sessionConfig(this.#ctx.o.rtcConfiguration, this.#grant, this.relayOnly);
  }

  /** Relay-only with no relay to use cannot work: say so before trying. */
  precheck(): ConnectionFailedError | null {
    const cfg = this.config();
    return this.relayOnly && !relayOffered(cfg) ? this.error() : null;
  }

  /** The connection was made with `cfg`. */
  created(cfg: RTCConfiguration): void {
    this.#applied = JSON.stringify(cfg);
  }

  /**
   * Before each setLocalDescription: the connection gets the servers known now. The Registry's
   * may have arrived after the connection was made, and before an ICE restart expired ones are
   * replaced by fresh ones (POST /rooms/:code/ice-servers). A failed refresh keeps the old ones
   * (not an error of its own: if they no longer work, the connect bound says so).
   */
  async prepare(restart: boolean): Promise<void> {
    const ctx = this.#ctx;
    if (
      restart &&
      !pageOwnsIce(ctx.o.rtcConfiguration) &&
      ctx.has("ice") &&
      grantExpiring(this.#grant, (ctx.o.wallClockMs ?? ctx.o.nowMs)())
    ) {
      try {
        this.noteGrant((await ctx.post("/ice-servers", undefined)).body);
      } catch {
        /* keep the old ones */
      }
    }
    const cfg = this.config();
    const text = JSON.stringify(cfg);
    if (text !== this.#applied) {
      this.#h.pc()!.setConfiguration(cfg);
      this.#applied = text;
    }
  }

  /**
   * Both descriptions are set: ICE has connectTimeoutMs (restarting once at half of it). ICE that
   * connected already (a guest's checks can succeed before its answer's post returns) leaves the
   * channels' bound alone.
   */
  answered(): void {
    if (this.#armed) return;
    this.#armed = true;
    if (this.#iceUp) {
      this.#awaitChannels();
      return;
    }
    const ms = this.#ms();
    this.#half = this.#ctx.timers.set(() => this.#h.stalled(), ms / 2);
    this.#bound = this.#ctx.timers.set(() => this.fail(), ms);
  }

  /**
   * ICE connected: its bound is met. The channels must still open: a peer whose channels do not
   * match ours (negotiated on one side only, or none opened) would otherwise leave this side
   * waiting forever, ICE up and nothing to send on.
   */
  connected(): void {
    if (this.#iceUp) return;
    this.#iceUp = true;
    if (this.#armed) this.#awaitChannels();
  }

  /** The channels opened: every bound is met, and none is armed again. */
  opened(): void {
    this.#armed = this.#iceUp = true;
    this.#ctx.timers.cancel(this.#half);
    this.#ctx.timers.cancel(this.#bound);
  }

  /** From ICE connected, the channels have connectTimeoutMs to open (no ICE restart helps them). */
  #awaitChannels(): void {
    const timers = this.#ctx.timers;
    timers.cancel(this.#half);
    timers.cancel(this.#bound);
    this.#bound = timers.set(
      () =>
        this.#ctx.fail(
          new ChannelMismatchError(
            "Connected to the other player, but no data channel opened: the two pages cannot talk.",
          ),
          true,
        ),
      this.#ms(),
    );
  }

  #ms(): number {
    return this.#ctx.o.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
  }

  /**
   * Nothing connected within the bound (or ICE failed before open): one ConnectionFailedError.
   * The room is left as it is, so "Try again" on either side can reuse it (README, Recovery); the
   * other player runs the same bound from the same moment and says the same on its own.
   */
  fail(): void {
    this.#ctx.fail(this.error());
  }

  /** The error for this side's configuration; `remote`: the other player gave up first. */
  error(remote = false): ConnectionFailedError {
    const msg = CONNECT_FAILURE_MESSAGES[failureCause(this.config())];
    return new ConnectionFailedError(remote ? `The other player could not connect. ${msg}` : msg);
  }

  /**
   * The route the open connection took (the ICE transport's selected pair, else getStats within
   * routeWaitMs); null when the browser does not say in time. `done` gets it at once when the
   * transport names it or the browser has no getStats.
   */
  readRoute(done: (route: IceRoute | null) => void): void {
    const pc = this.#h.pc()!;
    // Named by the ICE transport (Chromium, Safari): at once, no getStats() round before onOpen.
    // (Every link may be missing in other browsers.)
    const now = routeFromPair(pc.sctp?.transport?.iceTransport?.getSelectedCandidatePair?.() ?? null);
    if (now || typeof pc.getStats !== "function") {
      if (now) this.route = now;
      done(now);
      return;
    }
    let settled = false;
    const finish = (r: IceRoute | null) => {
      if (settled) return;
      settled = true;
      this.#ctx.timers.cancel(timer);
      this.route = r;
      done(r);
    };
    const timer = this.#ctx.timers.set(() => finish(null), CLIENT_DEFAULTS.routeWaitMs);
    pc.getStats().then(
      (report) => finish(routeFromStats(report)),
      () => finish(null),
    );
  }
}
