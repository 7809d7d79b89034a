/**
 * RegistryClient: room admin calls, then one WebRTC session driven over the Registry
 * (docs/protocol.md). Every side effect goes through the injected options; every timer, request
 * and listener belongs to the session and is released on close().
 *
 * The handshake is in parts that own their state: negotiation.ts (offer/answer/restart),
 * room-watch.ts (reading the room), publisher.ts (our candidates), drain.ts (theirs),
 * recovery.ts (ICE "disconnected"). This class wires them and owns the phase (through the
 * reducer in state.ts) and the session's lifecycle: open and close.
 */
import {
  HEADERS, LIMITS, checkUserName, normalizeJoinCode, normalizeRoomCode, parseCreateResult, parseJoinResult, parsePublicInfo, parseWatchResult,
  type CandidatePage, type RoomStatus,
} from "../protocol/index.ts";
import { randomFromBytes } from "./backoff.ts";
import { roomCall, type Ctx, type Emit } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { Drain, drainDue } from "./drain.ts";
import {
  AlreadyPairedError, BadJoinCodeError, BadRequestError, ChannelMismatchError, ClosedError, NotFoundError, RegistryError, TransitionError,
} from "./errors.ts";
import { END, LocalCandidates, RemoteCandidates } from "./ice.ts";
import { Negotiation, checkedSdp } from "./negotiation.ts";
import { Publisher } from "./publisher.ts";
import { Recovery } from "./recovery.ts";
import { RtcSession, channelSpecs } from "./rtc.ts";
import { TERMINAL, canApply, initialState, reduce, type Action } from "./state.ts";
import { TimerScope } from "./timers.ts";
import { Transport } from "./transport.ts";
import type {
  CandidateBody, ClientState, ConnectOptions, CreateRoomInput, CreateRoomResult, JoinRoomInput, JoinRoomResult,
  PublicRoomInfo, RegistryClientEvents, RegistryClientOptions, RoomSnapshot, SendPacketOptions, TelemetryEvent,
} from "./types.ts";

export { CLIENT_DEFAULTS };

/** A user name the server would refuse is refused here, before any request. */
function badName(name: string, who: string): void {
  if (checkUserName(name) !== null) throw new BadRequestError(`${who}UserName must be 1-32 characters without control characters.`);
}

// Private members are `#` fields (minifiers shorten them); `transport` and `fail` stay TS-private
// because the unit tests reach them.
export class RegistryClient {
  #state: ClientState;
  readonly #o: RegistryClientOptions;
  readonly #ev: RegistryClientEvents;
  readonly #timers: TimerScope;
  private readonly transport: Transport;
  /** Aborted on teardown: cancels every in-flight request and sleep; `aborted` = ended. */
  readonly #ctl = new AbortController();
  readonly #call: ReturnType<typeof roomCall>;
  #rtc: RtcSession | undefined;
  readonly #remote = new RemoteCandidates();
  readonly #pub: Publisher;
  readonly #drain: Drain;
  readonly #neg: Negotiation;
  #snapshot: RoomSnapshot | null = null;
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  readonly #rec: Recovery;
  #openedOnce = false;
  /** (ext `fast`) The host's offer that went with its room, for its token. */
  #sentOffer: { token: string; sdp: string } | undefined;
  /** (ext `fast`) The room and the host's candidates the guest's join brought, for its token. */
  #joined: { token: string; room?: RoomSnapshot; candidates?: CandidatePage } | undefined;

  constructor(opts: RegistryClientOptions, ev: RegistryClientEvents = {}) {
    this.#o = opts;
    this.#ev = ev;
    const random = randomFromBytes(opts.randomBytes);
    this.#state = initialState(opts.nowMs());
    const timers = (this.#timers = new TimerScope(opts.setTimeoutImpl, opts.clearTimeoutImpl, (err) => this.fail(err)));
    const t = (this.transport = new Transport({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""), fetchImpl: opts.fetchImpl, nowMs: opts.nowMs, random, timers,
      csrfHeaderName: opts.csrfHeaderName ?? HEADERS.version, csrfHeaderValue: opts.csrfHeaderValue ?? "1",
      telemetry: (e) => this.#telemetry(e), onRetry: (err) => this.#dispatch({ type: "error_noted", error: err }),
    }));
    const call = (this.#call = roomCall(t, () => this.#state));
    const ctx: Ctx = {
      o: opts, timers, random, signal: this.#ctl.signal, has: (f) => t.has(f),
      get: (suffix, query, signal, ifNoneMatch) => call(suffix, query, { method: "GET", signal, ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }) }),
      post: (suffix, body, signal) => call(suffix, "", { method: "POST", body, signal: signal ?? this.#ctl.signal }),
      fail: (err, notify) => this.fail(err, notify),
      emit: ((name, ...args) => this.#emit(name, ...args)) as Emit,
      dispatch: (a) => this.#dispatch(a),
    };
    this.#pub = new Publisher(ctx, new LocalCandidates(opts.maxCandidatesPerPeer ?? LIMITS.candidatesPerSide));
    this.#drain = new Drain(ctx, this.#remote, (cs) => this.#applyRemote(cs));
    this.#neg = new Negotiation(ctx, {
      rtc: () => this.#rtc!,
      seen: (s) => {
        this.#snapshot = s;
        if (this.#state.role === "host") this.#drainAt(s.status);
      },
      offerApplied: () => {
        this.#drainAt("offer");
        this.#applyRemote(this.#remote.markReady());
      },
      publish: () => this.#pub.start(),
      sentOffer: () => {
        const sent = this.#sentOffer;
        this.#sentOffer = undefined;
        return sent && sent.token === this.#state.accessToken ? sent.sdp : undefined;
      },
      drain: this.#drain,
      gathered: () => this.#pub.takeForAnswer(),
      answered: () => {
        this.#drainAt("answered");
        this.#dispatch({ type: "answered" });
        this.#applyRemote(this.#remote.markReady());
        // The channels may have opened before the answer step finished (not after a restart:
        // they never closed, and a second onOpen would be wrong).
        if (this.#rtc!.open && !this.#openedOnce) this.#onChannelsOpen();
      },
    });
    this.#rec = new Recovery(ctx, this.#neg, {
      role: () => this.#state.role!,
      opened: () => this.#openedOnce,
      can: (type) => canApply(this.#state, type),
      resetIce: () => (this.#drain.reset(), this.#pub.reset(), this.#remote.reset()),
      peerLeft: (why) => this.#peerLeft(why),
    });
  }

  getState(): ClientState { return this.#state; }
  getBufferedAmount(): number { return this.#rtc?.bufferedAmount() ?? 0; }
  getRoomSnapshot(): RoomSnapshot | null { return this.#snapshot; }
  /** (ext) The extensions the server advertised in its latest response. */
  getFeatures(): string[] { return [...this.transport.features]; }

  // ---------------------------------------------------------------- room admin

  async createRoom(input: CreateRoomInput): Promise<CreateRoomResult> {
    this.#guard("create");
    badName(input.hostUserName, "host");
    this.#dispatch({ type: "create" });
    // (ext `fast`) `prepare`: the connection and its channels are made now and the offer goes
    // with the room (setLocalDescription waits for connect(), after the room's answer). A local
    // failure here (e.g. an oversized offer) ends the session, as it would in connect().
    let sdp: string | undefined;
    if (input.prepare) {
      try {
        const rtc = this.#rtc ?? this.#makeRtc(input.prepare);
        if (rtc.channels.size === 0) rtc.createChannels();
        sdp = checkedSdp(await rtc.makeOffer(), "offer");
      } catch (err) {
        this.fail(err);
        throw err;
      }
    }
    try {
      const { body } = await this.transport.request({
        method: "POST", path: "/rooms", route: "/rooms", signal: this.#ctl.signal, probe: true,
        body: { hostUserName: input.hostUserName, ...(sdp === undefined ? {} : { offer: { type: "offer", sdp } }) },
      });
      const r = parseCreateResult(body);
      // Stored with the room only by a server with `fast` (others ignore the field).
      if (sdp !== undefined && this.transport.has("fast")) this.#sentOffer = { token: r.ownerToken, sdp };
      this.#dispatch({ type: "created", code: r.code, token: r.ownerToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
  }

  async fetchPublic(code: string): Promise<PublicRoomInfo | null> {
    if (this.#ctl.signal.aborted) throw new TransitionError("the client is closed");
    const c = normalizeRoomCode(code);
    if (c === null) return null; // cannot exist: no request
    try {
      const { body } = await this.transport.request({ method: "GET", path: `/rooms/${c}/public`, route: "/rooms/:code/public", signal: this.#ctl.signal, idempotent: true });
      return parsePublicInfo(body);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async joinRoom(input: JoinRoomInput): Promise<JoinRoomResult> {
    this.#guard("join");
    const code = normalizeRoomCode(input.code);
    const joinCode = normalizeJoinCode(input.joinCode);
    // Checked locally first: a malformed code costs no request and no wrong-code strike.
    if (code === null) throw new NotFoundError("The room code is malformed.");
    if (joinCode === null) throw new BadJoinCodeError("The join code is malformed.");
    badName(input.guestUserName, "guest");
    this.#dispatch({ type: "join" });
    try {
      const { body } = await this.transport.request({
        method: "POST", path: `/rooms/${code}/join`, route: "/rooms/:code/join",
        body: { joinCode, guestUserName: input.guestUserName }, signal: this.#ctl.signal, probe: true,
      });
      const r = parseJoinResult(body);
      // (ext `fast`) The offer and the host's candidates so far: connect() answers without a read.
      if (this.transport.has("fast")) this.#joined = { token: r.guestToken, ...parseWatchResult(body) };
      this.#dispatch({ type: "joined", code, token: r.guestToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
  }

  /** createRoom/joinRoom failed: a closed or paired room ends this client; else back to idle. */
  #requestFailed(err: unknown): unknown {
    if (this.#ctl.signal.aborted) return new TransitionError("the client was closed");
    if (err instanceof ClosedError || err instanceof AlreadyPairedError) this.fail(err);
    else this.#dispatch({ type: "request_failed", error: err as RegistryError });
    return err;
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
    this.#dispatch({ type: "connect", role: opts.role, code, token: opts.accessToken });
    const done = new Promise<void>((resolve, reject) => { this.#settle = { resolve, reject }; });
    // The flow runs on its own; its failure ends the session (and rejects `done`).
    void this.#run(opts).catch((err) => this.fail(err));
    return done;
  }

  /** The connection and its listeners (no channels yet); made by connect(), or earlier by createRoom({ prepare }). */
  #makeRtc(ch: Pick<ConnectOptions, "dataChannel" | "unreliable">): RtcSession {
    const pc = this.#o.createPeerConnection(this.#o.rtcConfiguration);
    const threshold = this.#o.backpressureThreshold ?? CLIENT_DEFAULTS.backpressureThreshold;
    const rtc = new RtcSession(pc, channelSpecs(ch.dataChannel, ch.unreliable), {
      localCandidate: (c) => this.#pub.gathered(c, this.#state.phase === "open"),
      connectionState: (s) => this.#onConnectionState(s),
      gatheringState: (s) => this.#emit("onIceGatheringStateChange", s),
      channelsOpen: () => this.#onChannelsOpen(),
      channelClosed: () => this.#peerLeft("peer_closed"),
      dataChannel: (dc) => {
        // Channels made before connect() (createRoom's prepare) are told when it starts.
        if (!canApply(this.#state, "rtc")) return;
        this.#dispatch({ type: "rtc", rtc: { ...this.#state.rtc!, dc: rtc.channels.get("reliable"), unreliableDc: rtc.channels.get("unreliable") } });
        this.#emit("onDataChannel", dc);
      },
      // A reliable channel under another label: unless ours follows soon, the pages cannot talk.
      foreignChannel: () => this.#timers.set(() => {
        if (!rtc.channels.has("reliable")) this.fail(new ChannelMismatchError(), true);
      }, CLIENT_DEFAULTS.channelWaitMs),
      message: (data, reliable) => this.#emit("onMessage", data, { reliable }),
      drain: () => this.#emit("onDrain"),
    }, threshold, this.#o.bufferedAmountLowThreshold ?? Math.floor(threshold / 4));
    return (this.#rtc = rtc);
  }

  async #run(opts: ConnectOptions): Promise<void> {
    const prepared = this.#rtc;
    const rtc = prepared ?? this.#makeRtc(opts);
    this.#dispatch({ type: "rtc", rtc: { pc: rtc.pc, localCandidates: this.#pub.local.keys, remoteCandidates: this.#remote.keys } });
    this.#emit("onPeerConnection", rtc.pc);
    // Host creates its channels before the offer; negotiated channels exist on both sides up front.
    if (prepared) for (const dc of rtc.channels.values()) rtc.announce(dc);
    else if (opts.role === "host" || rtc.negotiated) rtc.createChannels();
    if (opts.role === "host") return this.#neg.offer(false);
    const joined = this.#joined?.token === opts.accessToken ? this.#joined : undefined;
    this.#joined = undefined;
    if (joined?.candidates) this.#drain.feed(joined.candidates);
    this.#drainAt("connect");
    const offer = joined?.room?.offer?.sdp;
    if (offer === undefined) return this.#neg.awaitOffer();
    this.#snapshot = joined!.room!;
    await this.#neg.answer(offer);
  }

  /** The one place the drain starts (the rule is drainDue; Drain.start runs once per generation). */
  #drainAt(moment: "connect" | "offer" | "answered" | RoomStatus): void {
    if (drainDue(this.#state.role!, moment, this.transport.has("delta"), this.transport.has("fast"))) this.#drain.start();
  }

  #applyRemote(cs: CandidateBody[]): void {
    for (const c of cs) {
      const isEnd = c === END;
      this.#rtc!.addCandidate(isEnd ? null : c).catch((err: unknown) => {
        // A candidate the browser refuses (or an end mark it does not take) is not fatal.
        if (!isEnd && !this.#ctl.signal.aborted) this.#emit("onError", new RegistryError("bad_candidate", `addIceCandidate failed (${(err as Error).name}).`));
      });
      if (!isEnd) this.#emit("onCandidateRemote", c);
    }
  }

  // ---------------------------------------------------------------- RTC events

  #onChannelsOpen(): void {
    // Open before the answer step finished: `answered` comes back here.
    if (!canApply(this.#state, "dc_open")) return;
    this.#openedOnce = true;
    this.#dispatch({ type: "dc_open" });
    this.#telemetry({ type: "dc_open" });
    this.#emit("onOpen");
    this.#settle?.resolve();
    // Late candidates may still help for a short grace, then no more requests.
    if (this.#drain.active) {
      const cycle = this.transport.has("delta") ? CLIENT_DEFAULTS.iceDrainMaxMs : this.#o.iceDrainIntervalMs ?? CLIENT_DEFAULTS.iceDrainMaxMs;
      this.#timers.set(() => this.#drain.stop(), cycle * CLIENT_DEFAULTS.drainGraceCycles);
    }
  }

  #onConnectionState(s: RTCPeerConnectionState): void {
    this.#telemetry({ type: "pc_state", state: s });
    this.#emit("onIceConnectionStateChange", s);
    if (s === "connected") {
      this.#rec.connected();
      if (canApply(this.#state, "ice_connected")) this.#dispatch({ type: "ice_connected" });
      // Back after an ICE restart: the channels never closed, so this is open again (no second onOpen).
      if (this.#openedOnce && canApply(this.#state, "dc_open")) this.#dispatch({ type: "dc_open" });
    } else if (s === "disconnected") {
      this.#rec.disconnected();
    } else if (s === "failed" || s === "closed") {
      this.#peerLeft(s === "failed" ? "connection_failed" : "connection_closed");
    }
  }

  /** The other side is gone (or unreachable): one onClose, and tell the Registry (best effort). */
  #peerLeft(why: string): void {
    // Listeners and timers are gone after teardown, so this never runs twice.
    this.#postClose(why);
    this.#teardown({ type: "closed" }, why);
  }

  // ---------------------------------------------------------------- send / close

  send(data: ArrayBufferView | ArrayBuffer | string, opts: SendPacketOptions = {}): boolean {
    // Open once and not ended: during an ICE restart the channels stay open and SCTP buffers.
    if (!this.#openedOnce || this.#ctl.signal.aborted) throw new TransitionError(`send() in phase "${this.#state.phase}"`);
    return this.#rtc!.send(data, opts.reliable !== false);
  }

  /** Ends everything; posts /close once (best effort, no retry, never throws). Idempotent. */
  close(reason?: string): void {
    if (this.#ctl.signal.aborted) return;
    this.#postClose(reason);
    this.#dispatch({ type: "closing" });
    this.#teardown({ type: "closed" }, reason ?? "closed");
  }

  #postClose(reason: string | undefined): void {
    if (this.#state.code === undefined || this.#state.accessToken === undefined) return;
    // String(): close() never throws, even for a non-string reason from plain JS.
    const body = reason === undefined ? {} : { reason: String(reason).slice(0, LIMITS.closeReasonChars) };
    // Own controller: the session's is aborted right after. No retries, so no timer outlives
    // close(); keepalive lets it outlive the page (pagehide).
    this.#call("/close", "", { method: "POST", body, signal: new AbortController().signal, maxRetries: 0, keepalive: true }).catch(() => {});
  }

  /** Classifies a failure: a closed room / lost pairing is a close; anything else an error. */
  private fail(err: unknown, notifyServer = false): void {
    if (this.#ctl.signal.aborted) return;
    const e = err instanceof RegistryError ? err : new RegistryError("unknown", `WebRTC or internal failure (${err instanceof Error ? err.name : typeof err}).`);
    if (notifyServer) this.#postClose(e.code);
    const closed = e instanceof ClosedError || e instanceof AlreadyPairedError;
    // Once the channels have opened, a room that turns closed (a late drain or candidate post
    // getting 410 after the other side's /close) is the other side leaving, not an error: the
    // same single onClose, without an onError racing the DataChannel's own close.
    if (closed && this.#openedOnce) return this.#teardown({ type: "closed" }, "closed");
    this.#teardown(closed ? { type: "closed", error: e } : { type: "failed", error: e }, e.code, e);
  }

  /** Callers guarantee it runs once (close/fail check `aborted`; peerLeft's sources die here). */
  #teardown(action: Extract<Action, { type: "closed" | "failed" }>, why: string, error?: RegistryError): void {
    this.#ctl.abort();
    this.#drain.stop();
    this.#rec.stop();
    this.#timers.clear();
    this.#rtc?.dispose();
    this.#dispatch(action);
    if (error) this.#emit("onError", error);
    this.#telemetry({ type: "dc_close" });
    this.#emit("onClose", why);
    this.#settle?.reject(error ?? new ClosedError(`Closed before the DataChannel opened (${why}).`));
  }

  #guard(type: Action["type"]): void {
    if (!canApply(this.#state, type)) throw new TransitionError(`${type} is not allowed in phase "${this.#state.phase}"`);
  }

  #dispatch(action: Action): void {
    const prev = this.#state.phase;
    this.#state = reduce(this.#state, action, this.#o.nowMs());
    if (this.#state.phase !== prev) this.#telemetry({ type: "phase_change", phase: this.#state.phase });
    this.#emit("onStateChange", this.#state);
  }

  /** App callbacks never break the client: a throw goes to onError (and one from onError is dropped). */
  #emit<K extends keyof RegistryClientEvents>(name: K, ...args: Parameters<NonNullable<RegistryClientEvents[K]>>): void {
    const fn = this.#ev[name] as ((...a: unknown[]) => void) | undefined;
    try { fn?.apply(this.#ev, args); } catch (err) { if (name !== "onError") this.#emit("onError", err as Error); }
  }

  /** Telemetry is opt-in and best effort: a throwing sink is ignored. */
  #telemetry(e: Omit<TelemetryEvent, "at">): void {
    try { this.#o.telemetry?.({ ...e, at: this.#o.nowMs() }); } catch { /* ignored */ }
  }
}

export { TERMINAL };
