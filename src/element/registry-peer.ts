import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { RegistryClient, TERMINAL } from "../client/client.ts";
import { browserDefaults } from "../client/browser.ts";
import type {
  ClientPhase,
  ClientState,
  ConnectionStats,
  CreateRoomResult,
  ReconnectReason,
  RegistryClientOptions,
  Role,
  SendPacketOptions,
} from "../client/types.ts";
import { checkUserName, formatJoinCode, normalizeJoinCode, normalizeRoomCode } from "../protocol/index.ts";
import { CLOSE_TEXT, RECONNECTING_TEXT, describeError } from "./messages.ts";
import { buildShareUrl, parseShare, type ShareCodes } from "./share.ts";
import { styles } from "./styles.ts";

export interface PhaseChangeDetail {
  phase: ClientPhase;
  previous: ClientPhase;
}
export interface RoomCreatedDetail {
  code: string;
  /** The 8 characters, as the Registry returns them (show them with `formatJoinCode`). */
  joinCode: string;
  expiresAt: number;
  /** This page's URL with both codes in the fragment (never sent to any server). */
  shareUrl: string;
}
export interface PacketDetail {
  data: ArrayBuffer | string;
  reliable: boolean;
}
export interface PeerCloseDetail {
  reason: string;
}
export interface PeerErrorDetail {
  code: string;
  /** A human message (the same the built-in UI shows). Never contains secrets. */
  message: string;
  retryable: boolean;
  retryAfterSec?: number;
}

declare global {
  interface HTMLElementTagNameMap {
    "registry-peer": RegistryPeer;
  }
  interface HTMLElementEventMap {
    "phase-change": CustomEvent<PhaseChangeDetail>;
    "room-created": CustomEvent<RoomCreatedDetail>;
    "peer-open": CustomEvent<void>;
    packet: CustomEvent<PacketDetail>;
    drain: CustomEvent<void>;
    "peer-close": CustomEvent<PeerCloseDetail>;
    "peer-error": CustomEvent<PeerErrorDetail>;
    reconnecting: CustomEvent<{ reason: ReconnectReason }>;
    reconnected: CustomEvent<{ afterMs: number }>;
    stats: CustomEvent<ConnectionStats>;
  }
}

type Op = "create" | "join" | "connect";

/** One client and what it has learnt; replaced on a new session (new role, base-url, start over). */
interface Session {
  client: RegistryClient;
  role: Role;
  /** The base-url it was made for: a different one ends the session. */
  baseUrl: string;
  userName: string;
  code?: string;
  joinCode?: string;
  token?: string;
  expiresAt?: number;
  opened?: boolean;
  /** close() was called: the next connect() starts a new session. */
  ended?: boolean;
  /** The running (or finished) connect(). */
  connecting?: Promise<void>;
  peerClosed?: boolean;
}

interface UiError extends PeerErrorDetail {
  op: Op;
}

const BUSY_HOST: Partial<Record<ClientPhase, string>> = {
  creating_room: "Creating a room…",
  waiting_guest: "Waiting for the guest to join…",
  posting_offer: "Waiting for the guest to join…",
  polling_room: "Waiting for the guest to join…",
  draining_ice: "Connecting…",
  connecting_rtc: "Connecting…",
};
const BUSY_GUEST: Partial<Record<ClientPhase, string>> = {
  joining_room: "Joining the room…",
  posting_answer: "Connecting…",
  polling_room: "Connecting…",
  draining_ice: "Connecting…",
  connecting_rtc: "Connecting…",
};

/**
 * `<registry-peer>`: two browsers on one WebRTC DataChannel through a Registry, as one element.
 *
 * @summary Drop-in peer: creates or joins a room, connects, and relays packets as DOM events.
 *
 * @attr base-url - The Registry's URL (required), e.g. `https://registry.example.com`.
 * @attr role - `host` or `guest`. Absent: `guest` when the page's URL fragment carries a room code
 *   and join code (a share link), else `host`.
 * @attr code - The room code (guest: the room to join; host: set after `createRoom()`).
 * @attr join-code - The join code (any case, `-` and spaces ignored).
 * @attr user-name - The player's name (1–32 characters); the UI's name field starts with it.
 * @attr auto-connect - Host: create a room and connect when attached. Guest: join and connect
 *   once the room code and join code are known (attributes or the URL fragment).
 * @attr unreliable - Host: also open the unreliable channel (unordered, no retransmits). A guest
 *   always accepts the host's unreliable channel.
 * @attr ice-servers - JSON array of RTCIceServer, e.g. `[{"urls":"stun:stun.example.com"}]`.
 * @attr no-ui - Render nothing visible (events and methods only).
 * @attr backpressure-threshold - Bytes buffered above which `send()` returns false (default 262144).
 * @attr stats-interval - Milliseconds between `stats` events while connected (default 2000; 0 = none).
 *
 * @fires phase-change - `{ phase, previous }` whenever `phase` changes.
 * @fires room-created - `{ code, joinCode, expiresAt, shareUrl }` after the host created a room.
 * @fires peer-open - The DataChannel is open: `send()` works.
 * @fires packet - `{ data, reliable }` for every packet received (`data` is a string or an ArrayBuffer).
 * @fires drain - The send buffer fell low again after `send()` returned false.
 * @fires peer-close - `{ reason }` once the session that was open (or opening) ended.
 * @fires peer-error - `{ code, message, retryable, retryAfterSec }` for every error.
 * @fires reconnecting - `{ reason }`: the open connection is in trouble and being recovered.
 * @fires reconnected - `{ afterMs }`: recovered (packets sent meanwhile arrive).
 * @fires stats - Live quality (`getStats()`'s result) every `stats-interval` ms while connected.
 *
 * @csspart panel - The outer container of every view.
 * @csspart status - The status line (aria-live="polite").
 * @csspart progress - The progress bar while waiting or connecting.
 * @csspart form - The host's and the guest's forms.
 * @csspart label - Every form label.
 * @csspart input - Every text input.
 * @csspart field-error - Inline validation messages.
 * @csspart button - Every button (also `primary-button` / `secondary-button`).
 * @csspart primary-button - The main action of a view.
 * @csspart secondary-button - Copy, leave, start over.
 * @csspart codes - The room code / join code list.
 * @csspart room-code - The room code.
 * @csspart join-code - The join code (XXXX-XXXX).
 * @csspart share-link - The read-only share link field.
 * @csspart copy-button - The copy-link button.
 * @csspart error - The error message.
 *
 * @cssprop [--registry-peer-font=1rem/1.4 system-ui, sans-serif] - Font shorthand.
 * @cssprop [--registry-peer-color=#1b1f24] - Text colour.
 * @cssprop [--registry-peer-background=#fff] - Background.
 * @cssprop [--registry-peer-border=1px solid #8c959f] - Outer border.
 * @cssprop [--registry-peer-radius=8px] - Corner radius (controls use half).
 * @cssprop [--registry-peer-padding=1rem] - Inner padding.
 * @cssprop [--registry-peer-max-width=28rem] - Maximum width.
 * @cssprop [--registry-peer-gap=0.75rem] - Space between rows.
 * @cssprop [--registry-peer-accent=#0757c7] - Buttons, progress, links.
 * @cssprop [--registry-peer-accent-text=#fff] - Text on accent buttons.
 * @cssprop [--registry-peer-focus=#0757c7] - Focus ring.
 * @cssprop [--registry-peer-input-background=#fff] - Input background.
 * @cssprop [--registry-peer-input-border=#6e7781] - Input border.
 * @cssprop [--registry-peer-error-color=#b3261e] - Error text and invalid inputs.
 * @cssprop [--registry-peer-muted-color=#424a53] - Status line.
 * @cssprop [--registry-peer-code-font=600 1.25rem/1.2 ui-monospace, monospace] - Room and join code font.
 */
export class RegistryPeer extends LitElement {
  static override styles = styles;
  static override properties = {
    baseUrl: { attribute: "base-url" },
    role: {},
    roomCode: { attribute: "code" },
    joinCode: { attribute: "join-code" },
    userName: { attribute: "user-name" },
    autoConnect: { type: Boolean, attribute: "auto-connect" },
    unreliable: { type: Boolean },
    iceServers: { attribute: "ice-servers" },
    noUi: { type: Boolean, attribute: "no-ui", reflect: true },
    backpressureThreshold: { type: Number, attribute: "backpressure-threshold" },
    statsInterval: { type: Number, attribute: "stats-interval" },
    rtcConfiguration: { attribute: false },
    clientOptions: { attribute: false },
    _phase: { state: true, attribute: false },
    _err: { state: true, attribute: false },
    _form: { state: true, attribute: false },
    _fieldErrors: { state: true, attribute: false },
    _note: { state: true, attribute: false },
    _now: { state: true, attribute: false },
    _reconnecting: { state: true, attribute: false },
  };

  /** The Registry's URL (attribute `base-url`). */
  declare baseUrl: string | undefined;
  /** `"host"`, `"guest"`, or unset (decided from the URL fragment, see the `role` attribute). */
  declare role: Role | null;
  /** The room code (attribute `code`). The host's is set by `createRoom()`. */
  declare roomCode: string | undefined;
  /** The join code (attribute `join-code`). The host's is set by `createRoom()`. */
  declare joinCode: string | undefined;
  declare userName: string | undefined;
  declare autoConnect: boolean;
  declare unreliable: boolean;
  /** The raw `ice-servers` attribute (JSON); `rtcConfiguration` is what is used. */
  declare iceServers: string | undefined;
  declare noUi: boolean;
  declare backpressureThreshold: number | undefined;
  /** Milliseconds between `stats` events (attribute `stats-interval`); 0 = none. Applies to the next session. */
  declare statsInterval: number | undefined;
  /** Why the open connection is being recovered; null while it is fine. */
  declare private _reconnecting: ReconnectReason | null;
  /** The reason the last session closed with (for the status line). */
  declare private _closeReason: string;
  /**
   * Extra RegistryClient options merged over the browser defaults (tests, telemetry, timing
   * policy). Applies to the next session.
   */
  declare clientOptions: Partial<RegistryClientOptions> | undefined;

  declare private _rtcConfiguration: RTCConfiguration | undefined;
  declare private _phase: ClientPhase;
  declare private _err: UiError | null;
  declare private _form: { code: string; join: string; name: string };
  declare private _fieldErrors: { code?: string; join?: string; name?: string };
  /** A transient status note ("Link copied"). */
  declare private _note: string;
  /** Clock for the rate-limit countdown. */
  declare private _now: number;
  declare private _session: Session | null;
  declare private _op: Op | null;
  declare private _autoStarted: boolean;
  /** roomCode/joinCode were set by createRoom() (outputs, not the page's input): cleared with the session. */
  declare private _codesFromRoom: boolean;
  declare private _tickTimer: ReturnType<typeof setTimeout> | undefined;
  /** When a rate-limited step may be retried (ms epoch), 0 if not waiting. */
  declare private _retryAt: number;
  declare private _reported: WeakSet<object>;

  constructor() {
    super();
    // Initialised here, not as class fields: Lit's reactive accessors must not be shadowed.
    this.autoConnect = false;
    this.unreliable = false;
    this.noUi = false;
    this._phase = "idle";
    this._err = null;
    this._form = { code: "", join: "", name: "" };
    this._fieldErrors = {};
    this._note = "";
    this._now = Date.now();
    this._session = null;
    this._op = null;
    this._autoStarted = false;
    this._codesFromRoom = false;
    this._reported = new WeakSet();
    this._reconnecting = null;
    this._closeReason = "";
  }

  // ---- public properties ---------------------------------------------------------------------

  /** The session's phase (the client's `ClientPhase`); read-only. */
  get phase(): ClientPhase {
    return this._phase;
  }

  /** The client's state (`ClientState`), or an idle state before any session. */
  get state(): ClientState {
    return this._session?.client.getState() ?? { phase: this._phase, lastTransitionAt: 0 };
  }

  /**
   * The RTCConfiguration for the next session. Unless set explicitly it is
   * `{ iceServers: <ice-servers attribute> }` (an empty list when absent or not valid JSON).
   */
  get rtcConfiguration(): RTCConfiguration {
    if (this._rtcConfiguration) return this._rtcConfiguration;
    let iceServers: RTCIceServer[] = [];
    if (this.iceServers) {
      try {
        const v: unknown = JSON.parse(this.iceServers);
        if (Array.isArray(v)) iceServers = v as RTCIceServer[];
      } catch {
        // Not JSON: ignored (no logging: the value may carry TURN credentials).
      }
    }
    return { iceServers };
  }
  set rtcConfiguration(v: RTCConfiguration | undefined) {
    const old = this._rtcConfiguration;
    this._rtcConfiguration = v ?? undefined;
    this.requestUpdate("rtcConfiguration", old);
  }

  /**
   * Live quality of the open connection: RTT and jitter (ms), bytes and messages per channel,
   * loss on the unreliable channel, route, quality rating. Null when not connected.
   */
  getStats(): Promise<ConnectionStats | null> {
    return this._session?.client.getStats() ?? Promise.resolve(null);
  }

  /** Bytes queued on the channels, 0 without a session. */
  get bufferedAmount(): number {
    return this._session?.client.getBufferedAmount() ?? 0;
  }

  /** The current session's RegistryClient (created on first use); null without `base-url`. */
  get client(): RegistryClient | null {
    return this.baseUrl ? this._ensureSession().client : null;
  }

  /** The share link of the host's room, or null before `createRoom()`. */
  get shareUrl(): string | null {
    const s = this._session;
    return s?.role === "host" && s.code && s.joinCode ? buildShareUrl(location.href, s.code, s.joinCode) : null;
  }

  // ---- public methods ------------------------------------------------------------------------

  /** Host: creates a room; sets `roomCode`/`joinCode` and fires `room-created`. */
  async createRoom(): Promise<RoomCreatedDetail> {
    const s = this._ensureSession(true);
    if (s.role !== "host") throw new Error("createRoom() is for the host");
    return this._step(s, "create", async () => {
      const r: CreateRoomResult = await s.client.createRoom({ hostUserName: s.userName });
      s.code = r.code;
      s.joinCode = r.joinCode;
      s.token = r.ownerToken;
      s.expiresAt = r.expiresAt;
      this.roomCode = r.code;
      this.joinCode = r.joinCode;
      this._codesFromRoom = true;
      const detail: RoomCreatedDetail = {
        code: r.code,
        joinCode: r.joinCode,
        expiresAt: r.expiresAt,
        shareUrl: buildShareUrl(location.href, r.code, r.joinCode),
      };
      this._emit("room-created", detail);
      return detail;
    });
  }

  /** Guest: redeems the join code for `roomCode` (from the attributes, the form or the URL fragment). */
  async join(): Promise<void> {
    const s = this._ensureSession(true);
    if (s.role !== "guest") throw new Error("join() is for the guest");
    const codes = this._guestCodes();
    if (!codes.code || !codes.joinCode) {
      throw new Error("join() needs a valid room code and join code");
    }
    s.code = codes.code;
    s.joinCode = codes.joinCode;
    await this._step(s, "join", async () => {
      const r = await s.client.joinRoom({ code: s.code!, joinCode: s.joinCode!, guestUserName: s.userName });
      s.token = r.guestToken;
      s.expiresAt = r.expiresAt;
    });
  }

  /**
   * Connects: the host creates a room first if it has none, the guest joins first if it has not.
   * Resolves when the client's connect() does (the channel is open).
   */
  connect(): Promise<void> {
    // One attempt at a time: calling again while it runs (or while open) shares it.
    const cur = this._session;
    if (cur?.connecting && !cur.ended && !TERMINAL.includes(cur.client.getState().phase)) return cur.connecting;
    let s: Session;
    try {
      s = this._ensureSession(true);
    } catch (e) {
      return Promise.reject(e);
    }
    // The host decides the channels; a guest accepts an unreliable one whenever the host opens it
    // (the client also adopts a host's unreliable channel a guest did not ask for; this keeps the
    // guest's intent explicit).
    const unreliable = this.unreliable || s.role === "guest";
    const p = (async () => {
      if (!s.token) {
        if (s.role === "host") await this.createRoom();
        else await this.join();
      }
      await this._step(s, "connect", () =>
        s.client.connect({
          role: s.role,
          code: s.code!,
          accessToken: s.token!,
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

  /**
   * Sends one packet on the reliable channel, or with `{ reliable: false }` on the unreliable one.
   * Returns false while over `backpressure-threshold` (wait for `drain`). Throws before `peer-open`.
   */
  send(data: string | ArrayBuffer | ArrayBufferView, opts: SendPacketOptions = {}): boolean {
    const s = this._session;
    if (!s) throw new Error("send() before connect()");
    return s.client.send(data, opts);
  }

  /** Ends the session (the peer gets `peer-close`). The element can start a new one afterwards. */
  close(reason = "closed"): void {
    const s = this._session;
    if (!s) return;
    this._op = null;
    s.ended = true;
    try {
      s.client.close(reason);
    } catch (e) {
      this._report(s, e, "connect");
    }
    if (s.token || s.opened) this._markClosed(s, reason);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  private _onPageHide = (): void => {
    // Leaving the page: tell the peer now rather than letting it wait for ICE to time out.
    if (this._session) this.close("page closed");
  };
  private _onHashChange = (): void => {
    if (!this._session?.token) this._fillForm();
    // New codes in the URL are a new go for auto-connect.
    if (!this._op) this._autoStarted = false;
    this._maybeAuto();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener("pagehide", this._onPageHide);
    addEventListener("hashchange", this._onHashChange);
    this._fillForm();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener("pagehide", this._onPageHide);
    removeEventListener("hashchange", this._onHashChange);
    // A move (remove + insert in the same task) keeps the session; a real removal ends it.
    queueMicrotask(() => {
      if (!this.isConnected) this._endSession("element removed");
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const s = this._session;
    if (s && (changed.has("role") || changed.has("baseUrl")) && (s.baseUrl !== this.baseUrl || s.role !== this._effectiveRole())) {
      this._endSession("reconfigured");
      this._fillForm();
    }
    if (changed.has("userName") && this.userName && !this._form.name) this._form = { ...this._form, name: this.userName };
    if (!this._session?.token && (changed.has("roomCode") || changed.has("joinCode"))) {
      this._fillForm();
      // A guest given new codes may auto-connect again (the host's codes are outputs, not a trigger).
      if (this._effectiveRole() === "guest" && !this._op) this._autoStarted = false;
    }
  }

  protected override updated(): void {
    // After this update, not inside it: starting sets reactive state.
    queueMicrotask(() => this._maybeAuto());
  }

  // ---- sessions ----------------------------------------------------------------------------------

  private _effectiveRole(): Role {
    if (this.role === "host" || this.role === "guest") return this.role;
    const f = parseShare(location.hash);
    return f.code && f.joinCode ? "guest" : "host";
  }

  /** The guest's codes: attributes first, then the form, then the page's URL fragment. */
  private _guestCodes(): ShareCodes {
    const frag = parseShare(location.hash);
    return {
      code: normalizeRoomCode(this.roomCode) ?? normalizeRoomCode(this._form.code) ?? frag.code,
      joinCode: normalizeJoinCode(this.joinCode) ?? normalizeJoinCode(this._form.join) ?? frag.joinCode,
    } as ShareCodes;
  }

  /**
   * The current session, or a new one. `fresh` replaces a session whose client has ended (closed
   * or failed) with a new client, keeping what the session learnt (codes, token).
   */
  private _ensureSession(fresh = false): Session {
    if (!this.baseUrl) throw new Error("<registry-peer> needs a base-url");
    let s = this._session;
    if (s && fresh) {
      const phase = s.client.getState().phase;
      if (s.opened || s.ended) {
        // A connection that was open, or was closed on purpose, is over: start a new session.
        this._endSession("restart");
        s = null;
      } else if (phase === "closed" || phase === "error" || phase === "closing") {
        // A step failed: retry with a new client but keep the room, join code and token.
        s.client = this._newClient(s);
      }
    }
    if (!s) {
      const role = this._effectiveRole();
      const name = (this._form.name || this.userName || "").trim() || (role === "host" ? "Host" : "Guest");
      s = { role, userName: name, baseUrl: this.baseUrl } as Session;
      s.client = this._newClient(s);
      this._session = s;
      this._err = null;
    }
    return s;
  }

  private _newClient(s: Session): RegistryClient {
    const live = () => this._session === s && s.client === client;
    let lastError: ClientState["lastError"];
    const threshold = this.backpressureThreshold;
    const opts: RegistryClientOptions = {
      ...browserDefaults(),
      baseUrl: this.baseUrl!,
      rtcConfiguration: this.rtcConfiguration,
      ...(threshold !== undefined && Number.isFinite(threshold) && threshold > 0 ? { backpressureThreshold: threshold } : {}),
      ...(Number.isFinite(this.statsInterval) && this.statsInterval! >= 0 ? { statsIntervalMs: this.statsInterval } : {}),
      ...this.clientOptions,
    };
    const client: RegistryClient = new RegistryClient(opts, {
      onStateChange: (st) => {
        if (!live()) return;
        // A new lastError in a live phase is one the client retries by itself (429, 5xx, network):
        // show how long it waits instead of an unexplained pause.
        const e = st.lastError;
        if (e && e !== lastError && !TERMINAL.includes(st.phase)) {
          this._note = e.code === "rate_limited" ? "The Registry is busy." : "Connection trouble, retrying…";
          if (e.retryAfterSec) this._startCountdown(e.retryAfterSec);
        }
        lastError = e;
        this._setPhase(st.phase);
      },
      onOpen: () => {
        if (!live()) return;
        s.opened = true;
        this._err = null;
        this._emit("peer-open", undefined);
      },
      onClose: (why) => live() && this._markClosed(s, why || "closed"),
      // Fatal errors arrive after the client entered "error"/"closed"; others (a lost candidate
      // post) are reported as peer-error but the connection attempt goes on, so the UI does not switch.
      onError: (e) => live() && this._report(s, e, this._op ?? "connect", TERMINAL.includes(client.getState().phase)),
      onMessage: (data, info) => live() && this._emit("packet", { data, reliable: info.reliable }),
      onDrain: () => live() && this._emit("drain", undefined),
      onReconnecting: (info) => {
        if (!live()) return;
        this._reconnecting = info.reason;
        this._emit("reconnecting", info);
      },
      onReconnected: (info) => {
        if (!live()) return;
        this._reconnecting = null;
        this._emit("reconnected", info);
      },
      onStats: (st) => live() && this._emit("stats", st),
    });
    return client;
  }

  /** Runs one step of the flow; its error becomes `peer-error` (once) and is rethrown. */
  private async _step<T>(s: Session, op: Op, fn: () => Promise<T>): Promise<T> {
    this._op = op;
    this._err = null;
    this._clearRetry();
    try {
      return await fn();
    } catch (e) {
      // A step cut short by close() is not an error worth showing.
      if (this._session === s && !s.ended) this._report(s, e, op);
      throw e;
    } finally {
      if (this._op === op) this._op = null;
      this.requestUpdate();
    }
  }

  private _report(s: Session, e: unknown, op: Op, fatal = true): void {
    if (this._session !== s) return;
    if (e && typeof e === "object") {
      if (this._reported.has(e)) return;
      this._reported.add(e);
    }
    const err = (e ?? {}) as { code?: unknown; retryable?: unknown; retryAfterSec?: unknown };
    const code = typeof err.code === "string" ? err.code : "unknown";
    const detail: PeerErrorDetail = {
      code,
      message: describeError(code).message,
      retryable: err.retryable === true,
    };
    if (typeof err.retryAfterSec === "number") detail.retryAfterSec = err.retryAfterSec;
    if (fatal) {
      this._err = { ...detail, op };
      if (detail.retryAfterSec) this._startCountdown(detail.retryAfterSec);
      if (code === "bad_join_code") this._fieldErrors = { join: describeError(code).message };
      if (code === "not_found") this._fieldErrors = { code: describeError(code).message };
    }
    this._emit("peer-error", detail);
  }

  private _markClosed(s: Session, reason: string): void {
    this._reconnecting = null;
    this._closeReason = reason;
    if (s.peerClosed) return;
    s.peerClosed = true;
    this._emit("peer-close", { reason });
  }

  /** Ends the current session (if any) and goes back to idle; stale client callbacks are ignored. */
  private _endSession(reason: string): void {
    const s = this._session;
    this._reconnecting = null;
    this._closeReason = "";
    this._session = null;
    this._op = null;
    this._autoStarted = false;
    if (this._codesFromRoom) {
      // The old room's codes are not an input for the next session.
      this._codesFromRoom = false;
      this.roomCode = this.joinCode = undefined;
    }
    this._err = null;
    this._fieldErrors = {};
    this._clearRetry();
    if (!s) return;
    try {
      s.client.close(reason);
    } catch {
      // Closing an already-ended client: nothing left to release.
    }
    if (s.opened || s.token) {
      if (!s.peerClosed) {
        s.peerClosed = true;
        this._emit("peer-close", { reason });
      }
    }
    this._setPhase("idle");
  }

  private _setPhase(phase: ClientPhase): void {
    const previous = this._phase;
    if (phase === previous) return;
    this._phase = phase;
    this._note = "";
    this._emit("phase-change", { phase, previous });
  }

  private _emit<K extends keyof HTMLElementEventMap>(
    type: K,
    detail: HTMLElementEventMap[K] extends CustomEvent<infer D> ? D : never,
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private _maybeAuto(): void {
    if (!this.autoConnect || !this.isConnected || !this.baseUrl || this._op || this._autoStarted) return;
    if (this._session && this._phase !== "idle") return;
    if (this._effectiveRole() === "guest") {
      const c = this._guestCodes();
      if (!c.code || !c.joinCode) return;
    }
    this._autoStarted = true;
    this.connect().catch(() => {
      // Reported as peer-error and shown by the UI.
    });
  }

  // ---- UI ------------------------------------------------------------------------------------------

  private _fillForm(): void {
    const frag = parseShare(location.hash);
    const code = normalizeRoomCode(this.roomCode) ?? frag.code ?? this._form.code;
    const jc = normalizeJoinCode(this.joinCode) ?? frag.joinCode;
    this._form = {
      code: code ?? "",
      join: jc ? formatJoinCode(jc) : this._form.join,
      name: this._form.name || this.userName || "",
    };
  }

  private _startCountdown(sec: number): void {
    const until = Date.now() + sec * 1000;
    const tick = () => {
      this._now = Date.now();
      this._tickTimer = this._now < until ? setTimeout(tick, Math.min(1000, until - this._now)) : undefined;
    };
    clearTimeout(this._tickTimer);
    this._retryAt = until;
    tick();
  }
  private _clearRetry(): void {
    clearTimeout(this._tickTimer);
    this._tickTimer = undefined;
    this._retryAt = 0;
  }

  private _waitSec(): number {
    return this._retryAt ? Math.max(0, Math.ceil((this._retryAt - this._now) / 1000)) : 0;
  }

  private _onInput(e: Event): void {
    const t = e.target as HTMLInputElement;
    const key = t.name as "code" | "join" | "name";
    let form = { ...this._form, [key]: t.value };
    // A pasted share link fills both codes.
    if (key !== "name" && t.value.includes("#")) {
      const f = parseShare(t.value);
      if (f.code) form.code = f.code;
      if (f.joinCode) form.join = formatJoinCode(f.joinCode);
    }
    this._form = form;
    if (this._fieldErrors[key]) this._fieldErrors = { ...this._fieldErrors, [key]: this._check(key) };
  }

  private _onBlur(e: Event): void {
    const key = (e.target as HTMLInputElement).name as "code" | "join" | "name";
    const v = this._form[key];
    if (v) this._fieldErrors = { ...this._fieldErrors, [key]: this._check(key) };
  }

  private _check(key: "code" | "join" | "name"): string | undefined {
    const v = this._form[key].trim();
    if (key === "name") return checkUserName(v) ? "Enter a name of 1 to 32 characters." : undefined;
    if (key === "code") return normalizeRoomCode(v) ? undefined : "A room code has 6 letters and digits, like K7M2QX.";
    return normalizeJoinCode(v) ? undefined : "A join code has 8 letters and digits, like ABCD-1234, or paste the share link.";
  }

  private async _submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this._op) return; // a double submit: the first one is running
    const role = this._effectiveRole();
    const keys = role === "host" ? (["name"] as const) : (["code", "join", "name"] as const);
    const errs: Record<string, string | undefined> = {};
    for (const k of keys) errs[k] = this._check(k);
    this._fieldErrors = errs;
    const bad = keys.find((k) => errs[k]);
    if (bad) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLInputElement>(`input[name=${bad}]`)?.focus();
      return;
    }
    // The form's values are what the player meant: a new session with them.
    this._endSession("restart");
    if (role === "guest") {
      this.roomCode = normalizeRoomCode(this._form.code)!;
      this.joinCode = normalizeJoinCode(this._form.join)!;
    }
    this.connect().catch(() => {});
  }

  private _retry(): void {
    const err = this._err;
    if (!err) return;
    this._err = null;
    const s = this._session;
    // "Try again" repeats the failed step with a fresh client; an opened session starts over.
    if (err.op === "create" && s) this._endSession("restart");
    this.connect().catch(() => {});
  }

  private _restart(): void {
    const role = this._effectiveRole();
    this._endSession("restart");
    if (role === "guest") {
      this._fillForm();
      // The player drives the next attempt from the form: the same (spent) codes do not auto-join again.
      this._autoStarted = true;
    }
    if (role === "host" && this.autoConnect) this.connect().catch(() => {});
  }

  private async _copy(): Promise<void> {
    const url = this.shareUrl;
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      this._note = "Link copied.";
    } catch {
      // No clipboard permission: select the link so Ctrl+C / long-press copies it.
      this.renderRoot.querySelector<HTMLInputElement>("input[name=share]")?.select();
      this._note = "Press Ctrl+C (or ⌘C) to copy the selected link.";
    }
  }

  private _field(key: "code" | "join" | "name", label: string, hint: string, extra: Record<string, string>): TemplateResult {
    const err = this._fieldErrors[key];
    return html`<label part="label"
      >${label}
      <input
        part="input"
        name=${key}
        .value=${this._form[key]}
        autocomplete=${extra.autocomplete ?? "off"}
        spellcheck="false"
        placeholder=${hint}
        maxlength=${extra.maxlength ?? "200"}
        aria-invalid=${err ? "true" : "false"}
        aria-describedby=${err ? `${key}-err` : nothing}
        @input=${this._onInput}
        @blur=${this._onBlur}
      />
      ${err ? html`<span part="field-error" class="field-error" id="${key}-err">${err}</span>` : nothing}
    </label>`;
  }

  protected override render(): unknown {
    if (this.noUi) return nothing;
    const s = this._session;
    const role = s?.role ?? this._effectiveRole();
    const phase = this._phase;
    const err = this._err;
    let status = "";
    let body: unknown = nothing;
    const btn = (label: string, handler: () => void, primary = false, disabled = false) =>
      html`<button
        type="button"
        part="button ${primary ? "primary-button" : "secondary-button"}"
        class=${primary ? "" : "secondary"}
        ?disabled=${disabled}
        @click=${handler}
      >
        ${label}
      </button>`;

    if (err) {
      const text = describeError(err.code);
      const wait = this._waitSec();
      status = err.code === "rate_limited" && wait > 0 ? `${text.message} Try again in ${wait} s.` : text.message;
      if (text.action === "form" && !s?.token) {
        // The player fixes what they typed in place; the form's button is the retry.
        body = role === "host" ? this._hostForm() : this._guestForm();
      } else {
        const retry = text.action === "retry" || err.retryable;
        body = html`<div class="row">
          ${retry ? btn(wait > 0 ? `Try again in ${wait} s` : "Try again", () => this._retry(), true, wait > 0) : nothing}
          ${btn("Start over", () => this._restart(), !retry)}
        </div>`;
      }
    } else if (this._reconnecting && s?.opened && !TERMINAL.includes(phase)) {
      status = RECONNECTING_TEXT[this._reconnecting];
      body = html`<progress part="progress" aria-label=${status}></progress>
        <div class="row">${btn("Leave", () => this.close("left"))}</div>`;
    } else if (phase === "open") {
      const snap = s?.client.getRoomSnapshot();
      const other = role === "host" ? snap?.guestUserName : snap?.hostUserName;
      status = other ? `Connected to ${other}.` : "Connected.";
      body = html`<div class="row">${btn("Leave", () => this.close("left"))}</div>`;
    } else if (phase === "closed" || phase === "closing") {
      status = phase === "closing" ? "Closing…" : (CLOSE_TEXT[this._closeReason] ?? "The connection is closed.");
      body = html`<div class="row">${btn(role === "host" ? "New room" : "Join another room", () => this._restart(), true)}</div>`;
    } else if (role === "host" && s?.code && s.joinCode) {
      const waiting = (BUSY_HOST[phase] ?? "Waiting for the guest to join…") as string;
      const wait = this._waitSec();
      status = this._note ? `${this._note}${wait > 0 ? ` Retrying in ${wait} s…` : ""}` : waiting;
      body = html`<dl part="codes" class="codes">
          <dt>Room code</dt>
          <dd part="room-code">${s.code}</dd>
          <dt>Join code</dt>
          <dd part="join-code">${formatJoinCode(s.joinCode)}</dd>
        </dl>
        <div class="row">
          <input part="input share-link" name="share" readonly aria-label="Share link" .value=${this.shareUrl ?? ""} />
          <button type="button" part="button copy-button secondary-button" class="secondary" @click=${this._copy}>
            Copy link
          </button>
        </div>
        <p>Send the link (or both codes) to the other player.</p>
        <progress part="progress" aria-label=${waiting}></progress>
        <div class="row">${btn("Cancel", () => this._restart())}</div>`;
    } else if (this._op || (phase !== "idle" && phase !== "error") || s?.token) {
      // (A token in "idle": the guest has joined and connect() follows.)
      status = (role === "host" ? BUSY_HOST[phase] : BUSY_GUEST[phase]) ?? (this._op === "join" ? "Joining the room…" : "Connecting…");
      const wait = this._waitSec();
      if (this._note) status = `${this._note} ${wait > 0 ? `Retrying in ${wait} s…` : status}`;
      body = html`<progress part="progress" aria-label=${status}></progress>`;
    } else if (role === "host") {
      status = "Create a room, then send its link to the other player.";
      body = this._hostForm();
    } else {
      status = "Enter the codes the host sent you, or open their link.";
      body = this._guestForm();
    }
    return html`<div part="panel" class="panel">
      <p part=${err ? "status error" : "status"} class=${err ? "status error" : "status"} role="status" aria-live="polite">
        ${status}
      </p>
      ${body}
    </div>`;
  }

  private _hostForm(): TemplateResult {
    return html`<form part="form" novalidate @submit=${this._submit}>
      ${this._field("name", "Your name", "Alice", { autocomplete: "nickname", maxlength: "64" })}
      <button part="button primary-button">Create room</button>
    </form>`;
  }

  private _guestForm(): TemplateResult {
    return html`<form part="form" novalidate @submit=${this._submit}>
      ${this._field("code", "Room code", "K7M2QX", { maxlength: "64" })}
      ${this._field("join", "Join code or link", "ABCD-1234", { maxlength: "2048" })}
      ${this._field("name", "Your name", "Bob", { autocomplete: "nickname", maxlength: "64" })}
      <button part="button primary-button">Join room</button>
    </form>`;
  }
}

if (!customElements.get("registry-peer")) customElements.define("registry-peer", RegistryPeer);
