/**
 * RegistryClient: room admin calls, then one WebRTC session driven over the Registry
 * (docs/protocol.md). Every side effect goes through the injected options; every timer, request
 * and listener belongs to the session and is released on close().
 *
 * The work is in parts that own their state: room-admin.ts (create/join/public), session.ts (the
 * connection, its channels and their events), negotiation.ts (offer/answer/restart),
 * room-watch.ts (reading the room), publisher.ts (our candidates), drain.ts (theirs),
 * recovery.ts (trouble after open), heartbeat.ts (the control channel), stats.ts (quality),
 * connectivity.ts (ICE servers, the connect bound, the route), lifecycle.ts (shielded callbacks,
 * failure naming). This class wires them and owns the phase (through the reducer in state.ts) and
 * the session's lifecycle: connect, close and teardown.
 */
import { HEADERS, LIMITS, normalizeRoomCode, type RoomStatus } from "../protocol/index.ts";
import { randomFromBytes } from "./backoff.ts";
import { roomCall, type Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { Connectivity } from "./connectivity.ts";
import { Drain, drainDue } from "./drain.ts";
import { AlreadyPairedError, ClosedError, type RegistryError, TransitionError } from "./errors.ts";
import type { IceRoute } from "./route.ts";
import { LocalCandidates, RemoteCandidates } from "./ice.ts";
import { classify, emitter, outageDeadline, postClose, telemetrySink } from "./lifecycle.ts";
import { Negotiation } from "./negotiation.ts";
import { Publisher } from "./publisher.ts";
import { Recovery } from "./recovery.ts";
import { RoomAdmin } from "./room-admin.ts";
import { Session } from "./session.ts";
import type { ConnectionStats } from "./stats.ts";
import { TERMINAL, canApply, initialState, reduce, type Action } from "./state.ts";
import { TimerScope } from "./timers.ts";
import { Transport } from "./transport.ts";
import type {
  ClientState,
  ConnectOptions,
  CreateRoomInput,
  CreateRoomResult,
  JoinRoomInput,
  JoinRoomResult,
  PublicRoomInfo,
  RegistryClientEvents,
  RegistryClientOptions,
  RoomSnapshot,
  SendPacketOptions,
} from "./types.ts";

export { CLIENT_DEFAULTS };

// Private members are `#` fields (minifiers shorten them); `transport` and `fail` stay TS-private
// because the unit tests reach them.
export class RegistryClient {
  #state: ClientState;
  readonly #o: RegistryClientOptions;
  readonly #timers: TimerScope;
  private readonly transport: Transport;
  /** Aborted on teardown: cancels every in-flight request and sleep; `aborted` = ended. */
  readonly #ctl = new AbortController();
  readonly #call: ReturnType<typeof roomCall>;
  readonly #s: Session;
  readonly #admin: RoomAdmin;
  readonly #remote = new RemoteCandidates();
  readonly #pub: Publisher;
  readonly #drain: Drain;
  readonly #neg: Negotiation;
  #snapshot: RoomSnapshot | null = null;
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  readonly #rec: Recovery;
  readonly #conn: Connectivity;
  /** nowMs() of the Registry's latest answer (any status): the outage deadline counts from it. */
  #lastContact = 0;
  readonly #emit: Ctx["emit"];
  readonly #telemetry: ReturnType<typeof telemetrySink>;

  constructor(opts: RegistryClientOptions, ev: RegistryClientEvents = {}) {
    this.#o = opts;
    this.#emit = emitter(ev);
    this.#telemetry = telemetrySink(opts);
    const random = randomFromBytes(opts.randomBytes);
    this.#state = initialState(opts.nowMs());
    const timers = (this.#timers = new TimerScope(opts.setTimeoutImpl, opts.clearTimeoutImpl, (err) => this.fail(err)));
    const t = (this.transport = new Transport({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      fetchImpl: opts.fetchImpl,
      nowMs: opts.nowMs,
      random,
      timers,
      csrfHeaderName: opts.csrfHeaderName ?? HEADERS.version,
      csrfHeaderValue: opts.csrfHeaderValue ?? "1",
      telemetry: (e) => {
        if (e.type === "response") this.#lastContact = opts.nowMs();
        this.#telemetry(e);
      },
      onRetry: (err) => this.#dispatch({ type: "error_noted", error: err }),
    }));
    const call = (this.#call = roomCall(
      t,
      () => this.#state,
      () => outageDeadline(this.#snapshot, this.#lastContact),
    ));
    const ctx: Ctx = {
      o: opts,
      timers,
      random,
      signal: this.#ctl.signal,
      has: (f) => t.has(f),
      get: (suffix, signal) => call(suffix, { method: "GET", signal }),
      post: (suffix, body, signal) => call(suffix, { method: "POST", body, signal: signal ?? this.#ctl.signal }),
      fail: (err, notify) => this.fail(err, notify),
      emit: this.#emit,
      dispatch: (a) => this.#dispatch(a),
    };
    this.#pub = new Publisher(ctx, new LocalCandidates(opts.maxCandidatesPerPeer ?? LIMITS.candidatesPerSide));
    this.#drain = new Drain(ctx, this.#remote, (cs) => this.#s.applyRemote(cs));
    const conn = (this.#conn = new Connectivity(ctx, {
      pc: () => this.#s.rtc?.pc,
      stalled: () => this.#rec.stalled(),
    }));
    this.#neg = new Negotiation(ctx, {
      rtc: () => this.#s.rtc!,
      prepare: (restart) => conn.prepare(restart),
      seen: (s) => {
        this.#snapshot = s;
        if (this.#state.role === "host") this.#drainAt(s.status);
      },
      // The host's candidates are read while our answer travels, but applied once it has landed:
      // checks toward a host that cannot know us yet fail, and a Registry outage in between would
      // leave ICE "failed" before the host ever saw the answer.
      offerApplied: () => {
        this.#s.makeControl();
        this.#drainAt("offer");
      },
      publish: () => this.#pub.start(),
      sentOffer: () => this.#admin.takeOffer(this.#state.accessToken),
      drain: this.#drain,
      gathered: () => this.#pub.takeForAnswer(),
      answered: () => {
        this.#s.makeControl();
        this.#drainAt("answered");
        this.#dispatch({ type: "answered" });
        // An onStateChange that called close(): no bound, no offer watch after it.
        if (this.#ctl.signal.aborted) return;
        conn.answered();
        this.#s.answered(this.#remote.markReady());
        // The guest answers any newer offer from here on (restarts, the host's "Try again").
        if (this.#state.role === "guest") this.#rec.watchOffers();
      },
    });
    this.#rec = new Recovery(ctx, this.#neg, {
      role: () => this.#state.role!,
      opened: () => this.#s.openedOnce,
      can: (type) => canApply(this.#state, type),
      resetIce: () => {
        this.#drain.reset();
        this.#pub.reset();
        this.#remote.reset();
      },
      peerLeft: (why) => this.#peerLeft(why),
      reconnecting: (reason) => this.#emit("onReconnecting", { reason }),
      reconnected: (afterMs) => this.#emit("onReconnected", { afterMs }),
      kick: () => t.kick(),
      lastContact: () => this.#lastContact,
    });
    this.#s = new Session(ctx, {
      state: () => this.#state,
      telemetry: this.#telemetry,
      conn,
      pub: this.#pub,
      drain: this.#drain,
      remote: this.#remote,
      rec: this.#rec,
      peerLeft: (why) => this.#peerLeft(why),
      opened: () => this.#settle?.resolve(),
    });
    this.#admin = new RoomAdmin({
      transport: t,
      signal: this.#ctl.signal,
      conn,
      guard: (type) => this.#guard(type),
      dispatch: (a) => this.#dispatch(a),
      fail: (err, notify) => this.fail(err, notify),
      classify: (err) => this.#classify(err),
      prepare: (ch, host) => this.#s.prepare(ch, host),
      sendOffer: (sdp) => this.#neg.sendOffer(sdp),
    });
  }

  getState(): ClientState {
    return this.#state;
  }
  getBufferedAmount(): number {
    return this.#s.rtc?.bufferedAmount() ?? 0;
  }
  getRoomSnapshot(): RoomSnapshot | null {
    return this.#snapshot;
  }
  /** (ext) The extensions the server advertised in its latest response. */
  getFeatures(): string[] {
    return [...this.transport.features];
  }
  /** (ext) The route the open connection took (selected candidate pair), or null before open / when unknown. */
  getRoute(): IceRoute | null {
    return this.#conn.route;
  }
  /** (ext) Live quality of the open connection (README, Connection quality); null before it opened and after it ended. */
  getStats(): Promise<ConnectionStats | null> {
    return this.#s.getStats();
  }

  // ---------------------------------------------------------------- room admin (room-admin.ts)

  createRoom(input: CreateRoomInput): Promise<CreateRoomResult> {
    return this.#admin.createRoom(input);
  }
  fetchPublic(code: string): Promise<PublicRoomInfo | null> {
    return this.#admin.fetchPublic(code);
  }
  joinRoom(input: JoinRoomInput): Promise<JoinRoomResult> {
    return this.#admin.joinRoom(input);
  }

  // ---------------------------------------------------------------- session

  /** Resolves when every DataChannel is open; rejects when the session ends first. */
  connect(opts: ConnectOptions): Promise<void> {
    try {
      this.#guard("connect");
    } catch (err) {
      return Promise.reject(err);
    }
    const code = normalizeRoomCode(opts.code) ?? opts.code;
    const done = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.#dispatch({ type: "connect", role: opts.role, code, token: opts.accessToken });
    // An onStateChange that called close() ended the session (and rejected `done`): nothing starts.
    if (this.#ctl.signal.aborted) return done;
    this.#lastContact = this.#o.nowMs();
    this.#rec.start();
    // The flow runs on its own; its failure ends the session (and rejects `done`).
    void this.#run(opts).catch((err) => this.fail(err));
    return done;
  }

  async #run(opts: ConnectOptions): Promise<void> {
    // Relay-only without a relay cannot connect: say so at once (and tell the other player).
    const impossible = this.#conn.precheck();
    if (impossible) return this.fail(impossible, true);
    const prepared = this.#s.rtc;
    const rtc = prepared ?? this.#s.make(opts);
    this.#dispatch({
      type: "rtc",
      rtc: { pc: rtc.pc, localCandidates: this.#pub.local.keys, remoteCandidates: this.#remote.keys },
    });
    this.#emit("onPeerConnection", rtc.pc);
    // Host creates its channels before the offer; negotiated channels exist on both sides up front.
    if (prepared) for (const dc of rtc.channels.values()) rtc.announce(dc);
    else if (opts.role === "host" || rtc.negotiated) rtc.createChannels();
    if (opts.role === "host") return this.#neg.offer(false);
    const joined = this.#admin.takeJoined(opts.accessToken);
    if (joined?.candidates) this.#drain.feed(joined.candidates);
    const offer = joined?.room?.offer?.sdp;
    if (offer === undefined) return this.#neg.awaitOffer();
    this.#snapshot = joined!.room!;
    await this.#neg.answer(offer);
  }

  /** The one place the drain starts (the rule is drainDue; Drain.start runs once per generation). */
  #drainAt(moment: "offer" | "answered" | RoomStatus): void {
    if (drainDue(this.#state.role!, moment, this.transport.has("fast"))) this.#drain.start();
  }

  /**
   * The other side is gone (or unreachable): one onClose, and tell the Registry (best effort).
   * A connection that never opened leaves the room as it is: "Try again" on either side reuses it
   * (the host re-offers, the guest answers the new offer; README, Recovery).
   */
  #peerLeft(why: string): void {
    // Listeners and timers are gone after teardown, so this never runs twice.
    if (this.#s.openedOnce || (why !== "connection_failed" && why !== "disconnected")) this.#postClose(why);
    this.#teardown({ type: "closed" }, why);
  }

  // ---------------------------------------------------------------- send / close

  send(data: ArrayBufferView | ArrayBuffer | string, opts: SendPacketOptions = {}): boolean {
    // Open once and not ended: during an ICE restart the channels stay open and SCTP buffers.
    if (!this.#s.openedOnce || this.#ctl.signal.aborted)
      throw new TransitionError(`send() in phase "${this.#state.phase}"`);
    return this.#s.rtc!.send(data, opts.reliable !== false);
  }

  /** Ends everything; posts /close once (best effort, no retry, never throws). Idempotent. */
  close(reason?: string): void {
    if (this.#ctl.signal.aborted) return;
    this.#postClose(reason);
    // The peer learns it at once on the control channel (best effort).
    this.#s.hb?.bye();
    this.#dispatch({ type: "closing" });
    this.#teardown({ type: "closed" }, reason ?? "closed");
  }

  #postClose(reason: string | undefined): void {
    postClose(this.#call, this.#state, reason);
  }

  /** Classifies a failure: a closed room / lost pairing is a close; anything else an error. */
  private fail(err: unknown, notifyServer = false): void {
    if (this.#ctl.signal.aborted) return;
    const e = this.#classify(err);
    if (notifyServer) this.#postClose(e.code);
    const closed = e instanceof ClosedError || e instanceof AlreadyPairedError;
    // Once the channels have opened, a room that turns closed (a late drain or candidate post
    // getting 410 after the other side's /close) is the other side leaving, not an error: the
    // same single onClose, without an onError racing the DataChannel's own close.
    if (closed && this.#s.openedOnce) this.#teardown({ type: "closed" }, "closed");
    else this.#teardown(closed ? { type: "closed", error: e } : { type: "failed", error: e }, e.code, e);
  }

  #classify(err: unknown): RegistryError {
    return classify(err, this.#s.openedOnce, this.#conn);
  }

  /** Callers guarantee it runs once (close/fail check `aborted`; peerLeft's sources die here). */
  #teardown(action: Extract<Action, { type: "closed" | "failed" }>, why: string, error?: RegistryError): void {
    this.#ctl.abort();
    this.#drain.stop();
    this.#rec.stop();
    this.#s.hb?.stop();
    this.#timers.clear();
    this.#s.rtc?.dispose();
    this.#dispatch(action);
    if (error) this.#emit("onError", error);
    this.#telemetry({ type: "dc_close" });
    this.#emit("onClose", why);
    this.#settle?.reject(error ?? new ClosedError(`Closed before the DataChannel opened (${why}).`));
  }

  #guard(type: Action["type"]): void {
    if (!canApply(this.#state, type))
      throw new TransitionError(`${type} is not allowed in phase "${this.#state.phase}"`);
  }

  #dispatch(action: Action): void {
    const prev = this.#state.phase;
    this.#state = reduce(this.#state, action, this.#o.nowMs());
    if (this.#state.phase !== prev) this.#telemetry({ type: "phase_change", phase: this.#state.phase });
    this.#emit("onStateChange", this.#state);
  }
}

export { TERMINAL };
