/**
 * RegistryClient (client-spec §3–§9): room admin calls, then one WebRTC session driven over the
 * Registry. Every side effect goes through the injected options; every timer, request and
 * listener belongs to the session and is released on close().
 *
 * Fast path (registry-api §8, used only when the server advertises it): long-poll room reads,
 * delta long-poll candidate drains, batched candidate posts, end-of-candidates. Otherwise the
 * MVP: full-set polling at the §3.2 intervals.
 */
import { HEADERS, LIMITS, LONGPOLL_MAX_SEC, checkSdp, checkUserName, normalizeJoinCode, normalizeRoomCode, utf8Length } from "../protocol/index.ts";
import { jitter, randomFromBytes } from "./backoff.ts";
import {
  AlreadyPairedError, BadJoinCodeError, BadRequestError, BadSdpError, ClosedError, ForbiddenError, NoOfferError,
  NotFoundError, RegistryError, SdpTooLargeError, TimeoutError, TransitionError,
} from "./errors.ts";
import { LocalCandidates, RemoteCandidates } from "./ice.ts";
import { RtcSession, channelSpecs } from "./rtc.ts";
import { TERMINAL, canApply, initialState, reduce, type Action } from "./state.ts";
import { TimerScope, isAbortError } from "./timers.ts";
import { Transport, type HttpResult } from "./transport.ts";
import type {
  CandidateBody, ClientState, ConnectOptions, CreateRoomInput, CreateRoomResult, JoinRoomInput, JoinRoomResult,
  PublicRoomInfo, RegistryClientEvents, RegistryClientOptions, RoomSnapshot, SendPacketOptions, TelemetryEvent,
} from "./types.ts";

/** Defaults of the optional policy (client-spec §3.2, §6.2, §9). */
export const CLIENT_DEFAULTS = {
  roomPollIntervalMs: 1000,
  iceDrainMinMs: 1000,
  iceDrainMaxMs: 1500,
  backpressureThreshold: 256 * 1024,
  answerTimeoutMs: 60_000,
  disconnectGraceMs: 5000,
  /** no_offer: at most this many re-posts of the answer, each after 250–2000 ms. */
  noOfferRetries: 4,
  /** Drain cycles kept after the DataChannel opened, for late candidates (§5.3). */
  drainGraceCycles: 2,
  /** ICE restarts one session attempts (the server allows MAX_RESTARTS per room). */
  maxRestarts: 3,
  /** Guest: extra wait for the host's restart offer after the disconnect grace. */
  restartWaitMs: 15_000,
} as const;

/** Long-poll hold we ask for; the server caps it at its own LONGPOLL_MAX_SEC. */
const WAIT_SEC = LONGPOLL_MAX_SEC;

interface WireSnapshot extends RoomSnapshot { version?: number }

function parseSnapshot(x: unknown): WireSnapshot {
  const o = (x !== null && typeof x === "object" ? x : {}) as Record<string, unknown>;
  const desc = <T extends "offer" | "answer">(d: unknown, type: T) =>
    d !== null && typeof d === "object" && typeof (d as { sdp?: unknown }).sdp === "string" ? { type, sdp: (d as { sdp: string }).sdp } : null;
  const status = (["open", "joined", "paired", "closed"] as const).find((s) => s === o.status) ?? "open";
  const snap: WireSnapshot = {
    status,
    offer: desc(o.offer, "offer"),
    answer: desc(o.answer, "answer"),
    updatedAt: typeof o.updatedAt === "number" ? o.updatedAt : 0,
    expiresAt: typeof o.expiresAt === "number" ? o.expiresAt : 0,
  };
  if (typeof o.hostUserName === "string") snap.hostUserName = o.hostUserName;
  if (typeof o.guestUserName === "string" || o.guestUserName === null) snap.guestUserName = o.guestUserName;
  if (typeof o.version === "number") snap.version = o.version;
  return snap;
}

// Private members are `#` fields (minifiers shorten them); `transport` and `fail` stay TS-private
// because the unit tests reach them.
export class RegistryClient {
  #state: ClientState;
  readonly #o: RegistryClientOptions;
  readonly #ev: RegistryClientEvents;
  readonly #random: () => number;
  readonly #timers: TimerScope;
  private readonly transport: Transport;
  /** Aborted on teardown: cancels every in-flight request and sleep of this client. */
  readonly #ctl = new AbortController();
  #drainCtl: AbortController | undefined;
  #rtc: RtcSession | undefined;
  readonly #local: LocalCandidates;
  readonly #remote = new RemoteCandidates();
  #snapshot: RoomSnapshot | null = null;
  #ended = false;
  #settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  // publishing
  #publishReady = false;
  #pending: CandidateBody[] = [];
  #pendingEnd = false;
  #publishing = false;
  // draining
  #draining = false;
  /** Once per ICE generation: a drain that finished (complete) is not started again. */
  #drainStarted = false;
  #cursor = 0;
  #remoteEndApplied = false;
  #channelsOpenEarly = false;
  #answerTimer: number | undefined;
  #graceTimer: number | undefined;
  // ICE restart
  #openedOnce = false;
  #restarts = 0;
  #offerSeen: string | undefined;
  #watchCtl: AbortController | undefined;

  constructor(opts: RegistryClientOptions, ev: RegistryClientEvents = {}) {
    this.#o = opts;
    this.#ev = ev;
    this.#random = randomFromBytes(opts.randomBytes);
    this.#state = initialState(opts.nowMs());
    this.#local = new LocalCandidates(opts.maxCandidatesPerPeer ?? LIMITS.candidatesPerSide);
    this.#timers = new TimerScope(opts.setTimeoutImpl, opts.clearTimeoutImpl, (err) => this.fail(err));
    this.transport = new Transport({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      fetchImpl: opts.fetchImpl,
      nowMs: opts.nowMs,
      random: this.#random,
      timers: this.#timers,
      csrfHeaderName: opts.csrfHeaderName ?? HEADERS.version,
      csrfHeaderValue: opts.csrfHeaderValue ?? "1",
      telemetry: (e) => this.#telemetry(e),
      onRetry: (err) => this.#dispatch({ type: "error_noted", error: err }),
    });
  }

  // ---------------------------------------------------------------- introspection

  getState(): ClientState { return this.#state; }
  getBufferedAmount(): number { return this.#rtc?.bufferedAmount() ?? 0; }
  getRoomSnapshot(): RoomSnapshot | null { return this.#snapshot; }
  /** (ext) The extensions the server advertised in its latest response. */
  getFeatures(): string[] { return [...this.transport.features]; }

  // ---------------------------------------------------------------- room admin

  async createRoom(input: CreateRoomInput): Promise<CreateRoomResult> {
    this.#guard("create");
    if (checkUserName(input.hostUserName) !== null) throw new BadRequestError("hostUserName must be 1-32 characters without control characters.");
    this.#dispatch({ type: "create" });
    try {
      const { body } = await this.transport.request<CreateRoomResult>({
        method: "POST", path: "/rooms", route: "/rooms", body: { hostUserName: input.hostUserName }, signal: this.#ctl.signal,
      });
      const r: CreateRoomResult = { code: body.code, ownerToken: body.ownerToken, joinCode: body.joinCode, expiresAt: body.expiresAt };
      this.#dispatch({ type: "created", code: r.code, token: r.ownerToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
  }

  async fetchPublic(code: string): Promise<PublicRoomInfo | null> {
    if (this.#ended) throw new TransitionError("the client is closed");
    const c = normalizeRoomCode(code);
    if (c === null) return null; // cannot exist: no request
    try {
      const { body } = await this.transport.request<PublicRoomInfo>({
        method: "GET", path: `/rooms/${c}/public`, route: "/rooms/:code/public", signal: this.#ctl.signal, idempotent: true,
      });
      return { status: "open", hostUserName: body.hostUserName, expiresAt: body.expiresAt };
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
    if (checkUserName(input.guestUserName) !== null) throw new BadRequestError("guestUserName must be 1-32 characters without control characters.");
    this.#dispatch({ type: "join" });
    try {
      const { body } = await this.transport.request<JoinRoomResult>({
        method: "POST", path: `/rooms/${code}/join`, route: "/rooms/:code/join",
        body: { joinCode, guestUserName: input.guestUserName }, signal: this.#ctl.signal,
      });
      const r: JoinRoomResult = { guestToken: body.guestToken, expiresAt: body.expiresAt };
      this.#dispatch({ type: "joined", code, token: r.guestToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
  }

  /**
   * createRoom/joinRoom failed. A room that is closed or already paired is over for this client
   * (§8.1: closed, retry from scratch with a new client); anything else returns to idle.
   */
  #requestFailed(err: unknown): unknown {
    if (this.#ended) return new TransitionError("the client was closed");
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

  async #run(opts: ConnectOptions): Promise<void> {
    const pc = this.#o.createPeerConnection(this.#o.rtcConfiguration);
    const threshold = this.#o.backpressureThreshold ?? CLIENT_DEFAULTS.backpressureThreshold;
    const rtc = new RtcSession(pc, channelSpecs(opts.dataChannel, opts.unreliable), {
      localCandidate: (c) => this.#onLocalCandidate(c),
      connectionState: (s) => this.#onConnectionState(s),
      gatheringState: (s) => this.#emit("onIceGatheringStateChange", s),
      channelsOpen: () => this.#onChannelsOpen(),
      channelClosed: () => this.#peerLeft("peer_closed"),
      dataChannel: (dc) => {
        this.#dispatch({ type: "rtc", rtc: { ...this.#state.rtc!, dc: rtc.channels.get("reliable"), unreliableDc: rtc.channels.get("unreliable") } });
        this.#emit("onDataChannel", dc);
      },
      message: (data, reliable) => this.#emit("onMessage", data, { reliable }),
      drain: () => this.#emit("onDrain"),
    }, threshold, this.#o.bufferedAmountLowThreshold ?? Math.floor(threshold / 4));
    this.#rtc = rtc;
    this.#dispatch({ type: "rtc", rtc: { pc, localCandidates: this.#local.keys, remoteCandidates: this.#remote.keys } });
    this.#emit("onPeerConnection", pc);
    // Host creates its channels before the offer; negotiated channels exist on both sides up front.
    if (opts.role === "host" || rtc.negotiated) rtc.createChannels();

    if (opts.role === "host") return this.#offerAndWait(false);
    // Guest with delta: the drain long-polls from the start, next to the first room read, so the
    // host's candidates (queued until the offer is applied) are not a round trip after the offer.
    // Not on the MVP path, where each drain is a full-set poll on a timer.
    if (this.transport.has("delta")) this.#startDrain();
    await this.#answer(await this.#waitForRoom((s) => s.offer?.sdp, this.#ctl.signal));
  }

  /** Host: offer (an ICE restart when `restart`), publish/drain, wait for the answer, apply it. */
  async #offerAndWait(restart: boolean): Promise<void> {
    const sdp = this.#checkedSdp(await this.#rtc!.createOffer(restart), "offer");
    const { headers } = await this.#post("/offer", restart ? { type: "offer", sdp, restart: true } : { type: "offer", sdp });
    this.#dispatch({ type: "offer_posted" });
    this.#startPublishing();
    // (ext) A server that sends the room's version with the 204 (ETag) spares the first read: the
    // long-poll starts from it. Without one, the first read learns it. The drain starts once a
    // guest is in (waitForRoom): nothing to drain before, no requests wasted. A guest that joined
    // before the offer is only seen when that first hold ends, so it is no longer than the answer
    // bound (which starts then): a guest that never answers is noticed within 2 × that bound.
    const etag = /^"(\d+)"$/.exec(headers.get("ETag") ?? "");
    const bound = Math.min(WAIT_SEC, Math.max(1, Math.ceil((this.#o.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs) / 1000)));
    const answer = await this.#waitForRoom((s) => s.answer?.sdp, this.#ctl.signal, etag ? { version: Number(etag[1]), waitSec: bound } : undefined);
    this.#timers.cancel(this.#answerTimer);
    this.#answerTimer = undefined;
    await this.#rtc!.acceptAnswer(answer);
    this.#answered();
  }

  /** Guest: apply the offer, post the answer, publish/drain. */
  async #answer(offer: string): Promise<void> {
    this.#offerSeen = offer;
    const sdp = this.#checkedSdp(await this.#rtc!.acceptOffer(offer), "answer");
    const posted = this.#postAnswer(sdp);
    // The offer is applied: read (and apply) the host's candidates, usually stored already, while
    // the answer travels, not one round trip after it.
    if (!this.#drainStarted) this.#startDrain();
    this.#applyRemote(this.#remote.markReady());
    await posted;
    // Ours go out after the answer: gathering has run meanwhile, so they leave in fewer batches
    // (measured: posting them next to the answer cost 1-2 more posts; the host does not wait for
    // them, it learns the guest from its connectivity checks).
    this.#startPublishing();
    this.#answered();
  }

  #answered(): void {
    this.#dispatch({ type: "answered" });
    this.#applyRemote(this.#remote.markReady());
    if (this.#channelsOpenEarly) this.#onChannelsOpen();
  }

  /** ICE restart (registry-api §8 `restart`): both sides forget the old candidates, as the server does. */
  #resetIce(): void {
    this.#stopDrain();
    this.#drainStarted = false;
    this.#local.reset();
    this.#remote.reset();
    this.#publishReady = false;
    this.#pending = [];
    this.#pendingEnd = false;
    this.#remoteEndApplied = false;
  }

  /**
   * Host, after the disconnect grace: a new offer with fresh ICE credentials. A peer that is gone
   * (e.g. its page crashed) never answers: after another disconnectGraceMs without "connected" the
   * session closes with `restart_timeout` instead of waiting ~25 s for ICE "failed".
   */
  async #restartIce(): Promise<void> {
    this.#restarts++;
    this.#dispatch({ type: "restart" });
    this.#resetIce();
    this.#graceTimer = this.#timers.set(() => this.#peerLeft("restart_timeout"), this.#o.disconnectGraceMs ?? CLIENT_DEFAULTS.disconnectGraceMs);
    await this.#offerAndWait(true);
  }

  /** Guest, while disconnected: watch the room for the host's restart offer and answer it. */
  async #watchForRestart(signal: AbortSignal): Promise<void> {
    const offer = await this.#waitForRoom((s) => (s.offer && s.offer.sdp !== this.#offerSeen ? s.offer.sdp : undefined), signal);
    this.#timers.cancel(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#dispatch({ type: "reoffer" });
    this.#resetIce();
    await this.#answer(offer);
  }

  /** Validates our own SDP before any request (§6.3). */
  #checkedSdp(sdp: string, type: "offer" | "answer"): string {
    if (utf8Length(sdp) > LIMITS.sdpBytes) throw new SdpTooLargeError(`The ${type} SDP exceeds ${LIMITS.sdpBytes} bytes.`);
    if (checkSdp(sdp, type, type) !== null) throw new BadSdpError(`The local ${type} SDP is invalid.`);
    return sdp;
  }

  #post(suffix: string, body: unknown, signal: AbortSignal = this.#ctl.signal, maxRetries?: number): Promise<HttpResult<unknown>> {
    return this.transport.request({
      method: "POST", path: `/rooms/${this.#state.code}${suffix}`, route: `/rooms/:code${suffix}`,
      // Only /close passes maxRetries (0); keepalive lets it outlive the page (pagehide).
      token: this.#state.accessToken, body, signal, idempotent: true, ...(maxRetries === undefined ? {} : { maxRetries, keepalive: true }),
    });
  }

  #get(suffix: string, query: string, signal: AbortSignal, ifNoneMatch?: string): Promise<{ body: unknown }> {
    return this.transport.request({
      method: "GET", path: `/rooms/${this.#state.code}${suffix}${query}`, route: `/rooms/:code${suffix}`,
      token: this.#state.accessToken, signal, idempotent: true, ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
    });
  }

  /** 409 no_offer (the offer vanished, e.g. replaced): a few short jittered re-posts, then fail. */
  async #postAnswer(sdp: string, attempt = 0): Promise<void> {
    try {
      await this.#post("/answer", { type: "answer", sdp });
    } catch (err) {
      // Our first post may have landed and only its response got lost (then retried): the room says.
      if (err instanceof AlreadyPairedError && (await this.#ourAnswerStored(sdp))) return;
      if (!(err instanceof NoOfferError) || attempt >= CLIENT_DEFAULTS.noOfferRetries) throw err;
      this.#dispatch({ type: "error_noted", error: err });
      await this.#timers.sleep(jitter(250, 2000, this.#random), this.#ctl.signal);
      return this.#postAnswer(sdp, attempt + 1);
    }
  }

  async #ourAnswerStored(sdp: string): Promise<boolean> {
    const { body } = await this.#get("", "", this.#ctl.signal);
    return parseSnapshot(body).answer?.sdp === sdp;
  }

  /**
   * Reads the room until `pick` finds what we wait for. First read at once; then long-poll on the
   * version when advertised, else every roomPollIntervalMs. A closed room ends the session.
   */
  async #waitForRoom(pick: (s: WireSnapshot) => string | undefined, signal: AbortSignal, from?: { version: number; waitSec: number }): Promise<string> {
    let version = from?.version;
    let wait = from?.waitSec ?? WAIT_SEC;
    let unchanged = false;
    for (;;) {
      // Long-poll: one URL for every read, the version cursor in If-None-Match (registry-api §8),
      // so the CORS preflight of the first read is cached for all later ones. After a read that
      // came back unchanged (the hold ran out, or a response some cache should never have kept)
      // the next one carries the cursor in the URL: a replayed response can never loop.
      const longpoll = this.transport.has("longpoll");
      const cursor = longpoll && version !== undefined;
      const inUrl = cursor && unchanged;
      const { body } = await this.#get("", longpoll ? `?${inUrl ? `since=${version}&` : ""}wait=${wait}` : "", signal, cursor && !inUrl ? `"${version}"` : undefined);
      wait = WAIT_SEC;
      const snap = parseSnapshot(body);
      const v = snap.version ?? 0;
      unchanged = cursor && v <= version!;
      this.#snapshot = snap;
      if (snap.status === "closed") throw new ClosedError();
      if (this.#state.role === "host" && snap.status !== "open" && !this.#drainStarted) this.#startDrain();
      const found = pick(snap);
      if (found !== undefined) return found;
      // The offer→answer bound starts once a guest is in (before that, the room TTL bounds it).
      if (snap.status === "joined" && this.#state.role === "host" && this.#answerTimer === undefined) {
        const ms = this.#o.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs;
        this.#answerTimer = this.#timers.set(() => this.fail(new TimeoutError(`No answer within ${ms} ms.`), true), ms);
      }
      version = v;
      if (!this.transport.has("longpoll")) await this.#timers.sleep(this.#o.roomPollIntervalMs ?? CLIENT_DEFAULTS.roomPollIntervalMs, signal);
    }
  }

  // ---------------------------------------------------------------- ICE publish

  #onLocalCandidate(c: CandidateBody | null): void {
    if (c === null) {
      // Once open the end mark helps no one (the other side stops draining after a grace anyway):
      // no request for it. Gathering often ends ~100 ms after it starts (Chromium's allocator steps).
      if (this.#state.phase !== "open") this.#pendingEnd = true;
    } else {
      const v = this.#local.admit(c);
      if (!v.ok) {
        if (v.error) this.#emit("onError", v.error);
        return;
      }
      this.#emit("onCandidateLocal", v.body);
      this.#pending.push(v.body);
    }
    void this.#flush();
  }

  #startPublishing(): void {
    this.#publishReady = true;
    void this.#flush();
  }

  /**
   * Posts what was gathered, as it comes: one request in flight; what arrives meanwhile goes
   * out next, as one batch when the server has `batch`. The end mark goes only with `end`.
   */
  async #flush(): Promise<void> {
    if (!this.#publishReady || this.#publishing || this.#ended) return;
    const batch = this.transport.has("batch");
    const items = batch ? this.#pending.splice(0) : this.#pending.splice(0, 1);
    // Without batch, a pending item goes first and the end mark alone after it. With batch and
    // delta the end mark only rides along with candidates: the other side's drain is a held
    // long-poll either way (stopped ~2 cycles after open), so a post of the end mark alone would
    // cost a request and save none. Gathering ends ~100 ms after it starts, usually after the
    // first batch has gone: one post fewer per side.
    const alone = items.length === 0;
    const end = this.#pendingEnd && this.#pending.length === 0 && this.transport.has("end") && (batch ? !alone || !this.transport.has("delta") : alone);
    if (items.length === 0 && !end) return;
    if (end) this.#pendingEnd = false;
    const body = batch ? { items, ...(end ? { end: true } : {}) } : items.length ? items[0] : { end: true };
    this.#publishing = true;
    try {
      await this.#post("/candidate", body);
    } catch (err) {
      if (isAbortError(err)) return;
      // A lost candidate is not fatal (others may do); a dead room is.
      if (err instanceof ClosedError || err instanceof NotFoundError || err instanceof ForbiddenError) return this.fail(err);
      this.#emit("onError", err as Error);
    } finally {
      this.#publishing = false;
    }
    return this.#flush();
  }

  // ---------------------------------------------------------------- ICE drain

  #startDrain(): void {
    this.#drainStarted = true;
    this.#draining = true;
    this.#drainCtl = new AbortController();
    void this.#drainLoop(this.#drainCtl.signal).catch((err) => {
      if (!isAbortError(err)) this.fail(err);
    });
  }

  /** Delta long-poll from the last cursor when advertised, else the full set every 1–1.5 s. */
  async #drainLoop(signal: AbortSignal): Promise<void> {
    while (this.#draining) {
      const delta = this.transport.has("delta");
      const { body } = await this.#get("/candidates", delta ? `?since=${this.#cursor}&wait=${WAIT_SEC}` : "", signal);
      const r = (body ?? {}) as { items?: unknown; lastSeq?: unknown; complete?: unknown };
      if (typeof r.lastSeq === "number") this.#cursor = r.lastSeq;
      this.#applyRemote(this.#remote.take(this.#remote.diff(r.items)));
      if (r.complete === true && !this.#remoteEndApplied) {
        this.#remoteEndApplied = true;
        this.#applyRemote(this.#remote.take([END]));
      }
      // Everything the other side will send is here.
      if (this.#remoteEndApplied) return this.#stopDrain();
      if (!delta) {
        const ms = this.#o.iceDrainIntervalMs ?? jitter(CLIENT_DEFAULTS.iceDrainMinMs, CLIENT_DEFAULTS.iceDrainMaxMs, this.#random);
        await this.#timers.sleep(ms, signal);
      }
    }
  }

  #stopDrain(): void {
    this.#draining = false;
    this.#drainCtl?.abort();
  }

  #applyRemote(cs: CandidateBody[]): void {
    for (const c of cs) {
      const isEnd = c === END;
      this.#rtc!.addCandidate(isEnd ? null : c).catch((err: unknown) => {
        // A candidate the browser refuses (or an end mark it does not take) is not fatal.
        if (!isEnd && !this.#ended) this.#emit("onError", new RegistryError("bad_candidate", `addIceCandidate failed (${(err as Error).name}).`));
      });
      if (!isEnd) this.#emit("onCandidateRemote", c);
    }
  }

  // ---------------------------------------------------------------- RTC events

  #onChannelsOpen(): void {
    if (!canApply(this.#state, "dc_open")) {
      // Open before the answer step finished: finish it first.
      this.#channelsOpenEarly = true;
      return;
    }
    this.#channelsOpenEarly = false;
    this.#openedOnce = true;
    this.#dispatch({ type: "dc_open" });
    this.#telemetry({ type: "dc_open" });
    this.#emit("onOpen");
    this.#settle?.resolve();
    // Late candidates may still help for a short grace, then no more requests.
    if (this.#draining) {
      const cycle = this.transport.has("delta") ? CLIENT_DEFAULTS.iceDrainMaxMs : this.#o.iceDrainIntervalMs ?? CLIENT_DEFAULTS.iceDrainMaxMs;
      this.#timers.set(() => this.#stopDrain(), cycle * CLIENT_DEFAULTS.drainGraceCycles);
    }
  }

  #onConnectionState(s: RTCPeerConnectionState): void {
    this.#telemetry({ type: "pc_state", state: s });
    this.#emit("onIceConnectionStateChange", s);
    if (s === "connected") {
      this.#timers.cancel(this.#graceTimer);
      this.#graceTimer = undefined;
      this.#watchCtl?.abort();
      if (canApply(this.#state, "ice_connected")) this.#dispatch({ type: "ice_connected" });
      // Back after an ICE restart: the channels never closed, so this is open again (no second onOpen).
      if (this.#openedOnce && canApply(this.#state, "dc_open")) this.#dispatch({ type: "dc_open" });
    } else if (s === "disconnected") {
      // Not terminal (§6): ICE often recovers by itself within seconds; else the host restarts ICE.
      if (this.#graceTimer !== undefined) return;
      const restartable = this.#openedOnce && this.transport.has("restart");
      let ms = this.#o.disconnectGraceMs ?? CLIENT_DEFAULTS.disconnectGraceMs;
      if (restartable && this.#state.role === "guest") {
        // The guest waits for the host's restart offer: longer than the host's own grace.
        ms += CLIENT_DEFAULTS.restartWaitMs;
        this.#watchCtl = new AbortController();
        void this.#watchForRestart(this.#watchCtl.signal).catch((err) => {
          if (!isAbortError(err)) this.fail(err);
        });
      }
      this.#graceTimer = this.#timers.set(() => {
        this.#graceTimer = undefined;
        // Mid-restart (no longer restartable from this phase) or out of restarts: give up.
        if (restartable && this.#state.role === "host" && this.#restarts < CLIENT_DEFAULTS.maxRestarts && canApply(this.#state, "restart")) {
          void this.#restartIce().catch((err) => this.fail(err));
        } else {
          this.#peerLeft("disconnected");
        }
      }, ms);
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
    if (!this.#openedOnce || this.#ended) throw new TransitionError(`send() in phase "${this.#state.phase}"`);
    return this.#rtc!.send(data, opts.reliable !== false);
  }

  /** Ends everything; posts /close once (best effort, no retry, never throws). Idempotent. */
  close(reason?: string): void {
    if (this.#ended) return;
    this.#postClose(reason);
    this.#dispatch({ type: "closing" });
    this.#teardown({ type: "closed" }, reason ?? "closed");
  }

  #postClose(reason: string | undefined): void {
    if (this.#state.code === undefined || this.#state.accessToken === undefined) return;
    // String(): close() never throws, even for a non-string reason from plain JS.
    const body = reason === undefined ? {} : { reason: String(reason).slice(0, LIMITS.closeReasonChars) };
    // Own controller: the session's is aborted right after. No retries, so no timer outlives close().
    this.#post("/close", body, new AbortController().signal, 0).catch(() => {});
  }

  /** Classifies a failure: a closed room / lost pairing is a close; anything else an error. */
  private fail(err: unknown, notifyServer = false): void {
    if (this.#ended) return;
    const e = err instanceof RegistryError ? err : new RegistryError("unknown", `WebRTC or internal failure (${err instanceof Error ? err.name : typeof err}).`);
    if (notifyServer) this.#postClose(e.code);
    const closed = e instanceof ClosedError || e instanceof AlreadyPairedError;
    // Once the channels have opened, a room that turns closed (a late drain or candidate post
    // getting 410 after the other side's /close) is the other side leaving, not an error: the
    // same single onClose, without an onError racing the DataChannel's own close.
    if (closed && this.#openedOnce) return this.#teardown({ type: "closed" }, "closed");
    this.#teardown(closed ? { type: "closed", error: e } : { type: "failed", error: e }, e.code, e);
  }

  /** Callers guarantee it runs once (close/fail check `ended`; peerLeft's sources die here). */
  #teardown(action: Extract<Action, { type: "closed" | "failed" }>, why: string, error?: RegistryError): void {
    this.#ended = true;
    this.#draining = false;
    this.#ctl.abort();
    this.#drainCtl?.abort();
    this.#watchCtl?.abort();
    this.#timers.clear();
    this.#rtc?.dispose();
    this.#dispatch(action);
    if (error) this.#emit("onError", error);
    this.#telemetry({ type: "dc_close" });
    this.#emit("onClose", why);
    this.#settle?.reject(error ?? new ClosedError(`Closed before the DataChannel opened (${why}).`));
  }

  // ---------------------------------------------------------------- plumbing

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
    try {
      fn?.apply(this.#ev, args);
    } catch (err) {
      if (name !== "onError") this.#emit("onError", err as Error);
    }
  }

  #telemetry(e: Omit<TelemetryEvent, "at">): void {
    try {
      this.#o.telemetry?.({ ...e, at: this.#o.nowMs() });
    } catch {
      // Telemetry is opt-in and best effort.
    }
  }
}

/** Marker for the remote end-of-candidates in the apply queue. */
const END: CandidateBody = { candidate: "" };

export { TERMINAL };
