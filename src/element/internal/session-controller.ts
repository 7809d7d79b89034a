/**
 * The element's session, owned by a Lit ReactiveController: one RegistryClient at a time and the
 * room it is for. The client's `getState()` is the state; its phase reaches the element through
 * onStateChange (announced as phase-change). The session keeps only what outlives one client:
 * the room (codes, token, expiry from createRoom/join; the client's state has no join code, and a
 * replacement client after a failed step starts empty) and three facts about the session as a
 * whole (it opened, close() was called, peer-close was fired). Errors become `peer-error` once each.
 */
import type { ReactiveController } from "lit";
import { RegistryClient, TERMINAL } from "../../client/client.ts";
import { browserDefaults } from "../../client/browser.ts";
import type { ClientPhase, ClientState, ReconnectReason, RegistryClientOptions, Role } from "../../client/types.ts";
import { emit, type PeerErrorDetail, type RoomCreatedDetail } from "../events.ts";
import { buildShareUrl } from "../share.ts";
import { mergeStrings } from "../strings.ts";
import { configFromError, warnConfig, type ConfigKey, type ConfigProblem } from "./config.ts";
import { Countdown } from "./countdown.ts";
import { debugLog } from "./debug.ts";
import type { Op, Room, Session, SessionHost, UiError } from "./session-types.ts";

export type { Op, Room, Session, SessionHost, UiError } from "./session-types.ts";

export class SessionController implements ReactiveController {
  session: Session | null = null;
  /** The step running now (create, join, connect), for the busy view and a double submit. */
  op: Op | null = null;
  /** The error the UI shows (a fatal one of the current session), null when none. */
  err: UiError | null = null;
  /** A transient status note ("Link copied", "The Registry is busy."). */
  note = "";
  /** Why the open connection is being recovered; null while it is fine. */
  reconnecting: ReconnectReason | null = null;
  /** The reason the session's client closed with (the closed view says it in words). */
  closeReason = "";
  readonly countdown: Countdown;
  /** The phase last announced with phase-change ("idle" without a session); only #setPhase writes it. */
  phase: ClientPhase = "idle";
  readonly #reported = new WeakSet<object>();
  /** Setup mistakes already written to the console (one line each). */
  readonly #warned = new Set<ConfigKey>();
  /** The attributes' setup mistake last reported by setup(). */
  #setup: ConfigProblem | null = null;
  readonly #host: SessionHost;
  /** Resets what the element kept for the session that ended (null: there was none). */
  readonly #ended: (s: Session | null) => void;

  constructor(host: SessionHost, ended: (s: Session | null) => void) {
    this.#host = host;
    this.#ended = ended;
    this.countdown = new Countdown(host);
    host.addController(this);
  }

  hostDisconnected(): void {
    // A move (remove + insert in the same task) keeps the session; a real removal ends it.
    queueMicrotask(() => {
      if (!this.#host.isConnected) this.end("element removed");
    });
  }

  /** The host's room code and join code, once created. */
  get hostRoom(): Room | undefined {
    const s = this.session;
    return s?.role === "host" ? s.room : undefined;
  }

  /** The share link of the host's room, or null before createRoom(). */
  get shareUrl(): string | null {
    const r = this.hostRoom;
    return r ? buildShareUrl(location.href, r.code, r.joinCode) : null;
  }

  /**
   * Still running (or open): a second connect() shares it. Not once the client has ended or
   * close() was called.
   */
  get running(): Promise<void> | undefined {
    const s = this.session;
    return s?.connecting && !s.ended && !TERMINAL.includes(s.client.getState().phase) ? s.connecting : undefined;
  }

  /**
   * The current session, or a new one for `role`. `fresh` replaces a session whose client has
   * ended (closed or failed) with a new client, keeping the room (codes, token). Only called once
   * the element found no setup mistake, so base-url is set (a missing one is `configNoBaseUrl`).
   */
  ensure(role: Role, userName: string, fresh = false): Session {
    const baseUrl = this.#host.baseUrl!;
    let s = this.session;
    if (s && fresh) {
      const { phase } = s.client.getState();
      if (s.opened || s.ended) {
        // A connection that was open, or was closed on purpose, is over: start a new session.
        this.end("restart");
        s = null;
      } else if (TERMINAL.includes(phase) || phase === "closing") {
        // A step failed: retry with a new client but keep the room, join code and token.
        s.client = this.#newClient(s);
      }
    }
    if (!s) {
      s = { role, userName, baseUrl } as Session;
      s.client = this.#newClient(s);
      this.session = s;
      this.err = null;
    }
    return s;
  }

  /** Host: creates a room, sets the element's `roomCode`/`joinCode`, then fires room-created. */
  createRoom(s: Session): Promise<RoomCreatedDetail> {
    const host = this.#host;
    return this.#step(s, "create", async () => {
      // (ext fast) The offer goes with the room: the channels of the connect() that follows.
      const { code, joinCode, ownerToken, expiresAt } = await s.client.createRoom({
        hostUserName: s.userName,
        prepare: host.unreliable ? { unreliable: true } : {},
      });
      s.room = { code, joinCode, token: ownerToken, expiresAt };
      host.roomCode = code;
      host.joinCode = joinCode;
      const detail: RoomCreatedDetail = {
        code,
        joinCode,
        expiresAt,
        shareUrl: buildShareUrl(location.href, code, joinCode),
      };
      emit(host, "room-created", detail);
      return detail;
    });
  }

  /** Guest: redeems the join code for `code`. */
  join(s: Session, code: string, joinCode: string): Promise<void> {
    const room: Room = (s.room = { code, joinCode });
    return this.#step(s, "join", async () => {
      // (ext fast) The connection is made while the join travels (a guest accepts the unreliable channel).
      const r = await s.client.joinRoom({ code, joinCode, guestUserName: s.userName, prepare: { unreliable: true } });
      room.token = r.guestToken;
      room.expiresAt = r.expiresAt;
    });
  }

  /** Runs `prepare` (create or join when there is no token yet), then the client's connect(). */
  connect(s: Session, prepare: () => Promise<unknown>): Promise<void> {
    // The host decides the channels; a guest accepts an unreliable one whenever the host opens it
    // (the client also adopts a host's unreliable channel a guest did not ask for; this keeps the
    // guest's intent explicit).
    const unreliable = this.#host.unreliable || s.role === "guest";
    const p = (async () => {
      if (!s.room?.token) await prepare();
      const room = s.room!;
      await this.#step(s, "connect", () =>
        s.client.connect({
          role: s.role,
          code: room.code,
          accessToken: room.token!,
          userName: s.userName,
          ...(unreliable ? { unreliable: true } : {}),
        }),
      );
    })();
    s.connecting = p;
    p.catch(() => {
      if (s.connecting === p) s.connecting = undefined;
    });
    return p;
  }

  /** Ends the session on purpose (the peer gets peer-close); a new one may start afterwards. */
  close(reason: string): void {
    const s = this.session;
    if (!s) return;
    this.op = null;
    s.ended = true;
    try {
      s.client.close(reason);
    } catch (e) {
      this.#report(s, e, "connect");
    }
    // A room was created or joined (always so once it opened): the peer may be waiting.
    if (s.room?.token) this.#markClosed(s, reason);
  }

  /**
   * A setup mistake: shown by the UI, fired as peer-error code "config" (naming the attribute),
   * written to the console once per kind. Returns the error for a method to throw.
   */
  config(p: ConfigProblem, op: Op = "connect"): Error {
    const message = mergeStrings(this.#host.strings)[p.key];
    if (!this.#warned.has(p.key)) {
      this.#warned.add(p.key);
      warnConfig(p);
    }
    const detail: PeerErrorDetail = { code: "config", message, retryable: false, attribute: p.attribute };
    this.err = { ...detail, op };
    this.#host.requestUpdate();
    emit(this.#host, "peer-error", detail);
    return Object.assign(new Error(message), { code: "config", attribute: p.attribute });
  }

  /** The attributes' setup mistake, checked when they change: reported once per change; fixed, its message goes. */
  setup(p: ConfigProblem | null): void {
    if (p === this.#setup) return;
    this.#setup = p;
    if (p) this.config(p);
    else if (this.err?.code === "config") this.err = null;
  }

  /** Ends the current session (if any) and goes back to idle; stale client callbacks are ignored. */
  end(reason: string): void {
    this.reconnecting = null;
    this.closeReason = "";
    const s = this.session;
    this.session = null;
    this.op = null;
    this.err = null;
    this.countdown.clear();
    this.#ended(s);
    this.#host.requestUpdate();
    if (!s) return;
    try {
      s.client.close(reason);
    } catch {
      // Closing an already-ended client: nothing left to release.
    }
    if (s.room?.token) this.#markClosed(s, reason);
    this.#setPhase("idle");
  }

  /** Runs one step of the flow; its error becomes `peer-error` (once) and is rethrown. */
  async #step<T>(s: Session, op: Op, fn: () => Promise<T>): Promise<T> {
    this.op = op;
    this.err = null;
    this.countdown.clear();
    try {
      return await fn();
    } catch (e) {
      // A step cut short by close() is not an error worth showing.
      const shown = this.session === s && !s.ended ? this.#report(s, e, op) : undefined;
      throw shown ?? e;
    } finally {
      if (this.op === op) this.op = null;
      this.#host.requestUpdate();
    }
  }

  /**
   * Fires peer-error for `e` (once per error object); a fatal one is also what the UI shows.
   * Returns the config error when `e` shows a setup mistake (a method rejects with that).
   */
  #report(s: Session, e: unknown, op: Op, fatal = true): Error | undefined {
    if (this.session !== s) return;
    if (e && typeof e === "object") {
      if (this.#reported.has(e)) return;
      this.#reported.add(e);
    }
    const err = (e ?? {}) as {
      code?: unknown;
      message?: unknown;
      retryable?: unknown;
      retryAfterSec?: unknown;
      status?: unknown;
      closeReason?: unknown;
    };
    const problem = configFromError(err);
    if (problem) return this.config(problem, op);
    const code = typeof err.code === "string" ? err.code : "unknown";
    const strings = mergeStrings(this.#host.strings);
    const texts: Record<string, string> = strings.errors;
    // connection_failed's and channel_mismatch's own messages say why (no relay configured / the
    // relay failed; a channel under another name / none opened at all), in plain words and
    // without secrets (src/client/ice-config.ts, connectivity.ts), unless the page replaced that text.
    const own =
      (code === "connection_failed" || code === "channel_mismatch") &&
      typeof err.message === "string" &&
      !this.#host.strings?.errors?.[code];
    const detail: PeerErrorDetail = {
      code,
      message: own
        ? (err.message as string)
        : code === "closed" && err.closeReason === "expired"
          ? strings[s.role === "host" ? "roomExpired" : "roomExpiredGuest"]
          : (texts[code] ?? texts.unknown!),
      retryable: err.retryable === true,
    };
    if (typeof err.retryAfterSec === "number") detail.retryAfterSec = err.retryAfterSec;
    if (fatal) {
      this.err = { ...detail, op };
      if (detail.retryAfterSec) this.countdown.start(detail.retryAfterSec);
      this.#host.requestUpdate();
    }
    emit(this.#host, "peer-error", detail);
  }

  #markClosed(s: Session, reason: string): void {
    this.reconnecting = null;
    this.closeReason = reason;
    if (s.peerClosed) return;
    s.peerClosed = true;
    emit(this.#host, "peer-close", { reason });
  }

  #setPhase(phase: ClientPhase): void {
    const previous = this.phase;
    if (phase === previous) return;
    this.phase = phase;
    this.note = "";
    this.#host.requestUpdate();
    emit(this.#host, "phase-change", { phase, previous });
  }

  #newClient(s: Session): RegistryClient {
    const host = this.#host;
    const live = () => this.session === s && s.client === client;
    let lastError: ClientState["lastError"];
    const threshold = host.backpressureThreshold!;
    const connectMs = host.connectTimeout!;
    const opts: RegistryClientOptions = {
      ...browserDefaults(),
      baseUrl: s.baseUrl,
      rtcConfiguration: host.rtcConfiguration,
      // Number.isFinite is false for undefined and NaN (an attribute that is not a number).
      ...(Number.isFinite(threshold) && threshold > 0 && { backpressureThreshold: threshold }),
      ...(Number.isFinite(host.statsInterval) && host.statsInterval! >= 0 && { statsIntervalMs: host.statsInterval }),
      ...(host.relayOnly && { relayOnly: true }),
      ...(Number.isFinite(connectMs) && connectMs > 0 && { connectTimeoutMs: connectMs }),
      ...host.clientOptions,
    };
    // debug: the client's telemetry (redacted by design: routes, sizes, statuses, phases) on the console.
    if (host.debug) {
      const own = opts.telemetry;
      opts.telemetry = (ev) => {
        debugLog(ev);
        own?.(ev);
      };
    }
    const client: RegistryClient = new RegistryClient(opts, {
      onStateChange: (st) => {
        if (!live()) return;
        // A new lastError in a live phase is one the client retries by itself (429, 5xx, network):
        // show how long it waits instead of an unexplained pause.
        const e = st.lastError;
        if (e && e !== lastError && !TERMINAL.includes(st.phase)) {
          const t = mergeStrings(host.strings);
          this.note = e.code === "rate_limited" ? t.busyRegistry : t.retryingTrouble;
          if (e.retryAfterSec) this.countdown.start(e.retryAfterSec);
          host.requestUpdate();
        }
        lastError = e;
        this.#setPhase(st.phase);
      },
      onOpen: (info) => {
        if (!live()) return;
        s.opened = true;
        this.err = null;
        emit(host, "peer-open", { route: info?.route ?? null });
      },
      onClose: (why) => live() && this.#markClosed(s, why || "closed"),
      // Fatal errors arrive after the client entered "error"/"closed"; others (a lost candidate
      // post) are reported as peer-error but the connection attempt goes on, so the UI does not switch.
      onError: (e) => live() && this.#report(s, e, this.op ?? "connect", TERMINAL.includes(client.getState().phase)),
      onMessage: (data, info) => live() && emit(host, "packet", { data, reliable: info.reliable }),
      onDrain: () => live() && emit(host, "drain"),
      onReconnecting: (info) => {
        if (!live()) return;
        this.reconnecting = info.reason;
        host.requestUpdate();
        emit(host, "reconnecting", info);
      },
      onReconnected: (info) => {
        if (!live()) return;
        this.reconnecting = null;
        host.requestUpdate();
        emit(host, "reconnected", info);
      },
      onStats: (st) => live() && emit(host, "stats", st),
    });
    return client;
  }
}
