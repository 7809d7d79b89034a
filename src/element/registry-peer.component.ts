import { LitElement, nothing, type PropertyDeclarations, type PropertyValues } from "lit";
import type { RegistryClient } from "../client/client.ts";
import type {
  ClientPhase,
  ClientState,
  ConnectionStats,
  IceRoute,
  RegistryClientOptions,
  Role,
  SendPacketOptions,
} from "../client/types.ts";
import { normalizeJoinCode, normalizeRoomCode } from "../protocol/index.ts";
import type { RoomCreatedDetail } from "./events.ts";
import { checkConfig, parseIceServers, type ConfigProblem } from "./internal/config.ts";
import { FocusFollower } from "./internal/focus.ts";
import {
  applyBlur,
  applyInput,
  EMPTY_FORM,
  fillForm,
  validate,
  type FieldKey,
  type FormState,
} from "./internal/form.ts";
import { SessionController, type Session } from "./internal/session-controller.ts";
import { panel } from "./internal/views.ts";
import { styles } from "./registry-peer.styles.ts";
import { parseShare, type ShareCodes } from "./share.ts";
import { mergeStrings, type RegistryPeerStringsInit } from "./strings.ts";

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
 * @attr ice-servers - JSON array of RTCIceServer, e.g. `[{"urls":"stun:stun.example.com"}]`. When
 *   set (or `rtcConfiguration` has `iceServers`) these are used; otherwise the Registry's.
 * @attr relay-only - Connect only through a TURN relay (`iceTransportPolicy: "relay"`); fails at
 *   once with `connection_failed` when no relay is configured.
 * @attr connect-timeout - Milliseconds ICE may take once offer and answer are set (default
 *   10000; one ICE restart at half of it), then `peer-error` `connection_failed`.
 * @attr no-ui - Render nothing visible (events and methods only).
 * @attr backpressure-threshold - Bytes buffered above which `send()` returns false (default 262144).
 * @attr stats-interval - Milliseconds between `stats` events while connected (default 2000; 0 = none).
 * @attr debug - Log phases and Registry requests to the console (redacted: no codes, tokens, SDP,
 *   candidates or credentials).
 *
 * @slot heading - Above the status line (e.g. a heading for the panel).
 * @slot actions - Below the current view (e.g. the page's own buttons).
 *
 * @fires {CustomEvent<PhaseChangeDetail>} phase-change - `{ phase, previous }` whenever `phase` changes.
 * @fires {CustomEvent<RoomCreatedDetail>} room-created - `{ code, joinCode, expiresAt, shareUrl }` after the host created a room.
 * @fires {CustomEvent<PeerOpenDetail>} peer-open - The DataChannel is open: `send()` works. `{ route }`: the selected
 *   candidate pair (`localType`, `remoteType`, `protocol`, `relayed`), or null.
 * @fires {CustomEvent<PacketDetail>} packet - `{ data, reliable }` for every packet received (`data` is a string or an ArrayBuffer).
 * @fires {CustomEvent<void>} drain - The send buffer fell low again after `send()` returned false.
 * @fires {CustomEvent<PeerCloseDetail>} peer-close - `{ reason }` once the session that was open (or opening) ended.
 * @fires {CustomEvent<PeerErrorDetail>} peer-error - `{ code, message, retryable, retryAfterSec, attribute }` for every
 *   error; code `config` (with the `attribute` to fix) for a setup mistake of the page.
 * @fires {CustomEvent<ReconnectingDetail>} reconnecting - `{ reason }`: the open connection is in trouble and being recovered.
 * @fires {CustomEvent<ReconnectedDetail>} reconnected - `{ afterMs }`: recovered (packets sent meanwhile arrive).
 * @fires {CustomEvent<StatsDetail>} stats - Live quality (`getStats()`'s result) every `stats-interval` ms while connected.
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
 * @csspart error - The status line while it shows an error (with `status`).
 *
 * Colours below are the light defaults; under `prefers-color-scheme: dark` the defaults are a dark
 * set (a page's own values win in both).
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

  /**
   * Lit's property table. A table rather than decorators: the decorator helper and one call per
   * property cost the drop-in more than the table (bench 5a).
   */
  static override properties: PropertyDeclarations = {
    baseUrl: { attribute: "base-url" },
    role: {},
    roomCode: { attribute: "code" },
    joinCode: { attribute: "join-code" },
    userName: { attribute: "user-name" },
    autoConnect: { type: Boolean, attribute: "auto-connect" },
    unreliable: { type: Boolean },
    iceServers: { attribute: "ice-servers" },
    relayOnly: { type: Boolean, attribute: "relay-only" },
    connectTimeout: { type: Number, attribute: "connect-timeout" },
    noUi: { type: Boolean, attribute: "no-ui", reflect: true },
    backpressureThreshold: { type: Number, attribute: "backpressure-threshold" },
    statsInterval: { type: Number, attribute: "stats-interval" },
    clientOptions: { attribute: false },
    debug: { type: Boolean },
    strings: { attribute: false },
    _form: { state: true },
  };

  /** The Registry's URL (attribute `base-url`). */
  baseUrl: string | undefined;
  /** `"host"`, `"guest"`, or unset (decided from the URL fragment, see the `role` attribute). */
  override role!: Role | null;
  /** The room code (attribute `code`). The host's is set by `createRoom()`. */
  roomCode: string | undefined;
  /** The join code (attribute `join-code`). The host's is set by `createRoom()`. */
  joinCode: string | undefined;
  /** The player's name (attribute `user-name`). */
  userName: string | undefined;
  /** Create or join and connect without a click (attribute `auto-connect`). */
  autoConnect = false;
  /** Host: also open the unreliable channel. */
  unreliable = false;
  /** The raw `ice-servers` attribute (JSON); `rtcConfiguration` is what is used. */
  iceServers: string | undefined;
  /** Relay-only (attribute `relay-only`): `iceTransportPolicy: "relay"` for the next session. */
  relayOnly = false;
  /** Attribute `connect-timeout` (ms) for the next session; unset: the client's 10000. */
  connectTimeout: number | undefined;
  /** Render nothing visible (attribute `no-ui`). */
  noUi = false;
  /** Bytes buffered above which `send()` returns false (attribute `backpressure-threshold`). */
  backpressureThreshold: number | undefined;
  /** Milliseconds between `stats` events (attribute `stats-interval`); 0 = none. Applies to the next session. */
  statsInterval: number | undefined;
  /**
   * Extra RegistryClient options merged over the browser defaults (tests, telemetry, timing
   * policy). Applies to the next session.
   */
  clientOptions: Partial<RegistryClientOptions> | undefined;
  /** Log phases and Registry requests to the console (redacted: no codes, tokens, SDP or candidates). */
  debug = false;
  /** Replacements for any of the UI's texts (English by default); see `RegistryPeerStrings`. */
  strings: RegistryPeerStringsInit | undefined;

  private _form: FormState = EMPTY_FORM;
  #rtc: RTCConfiguration | undefined;
  /** auto-connect already started for the current inputs (new codes or a new session re-arm it). */
  #autoStarted = false;
  readonly #s = new SessionController(this, (s) => {
    this.#autoStarted = false;
    // The old room's codes are outputs of that session, not an input for the next one.
    const r = s?.role === "host" ? s.room : undefined;
    if (r && this.roomCode === r.code) this.roomCode = this.joinCode = undefined;
    this._form = { ...this._form, errors: {} };
  });
  /** Moves focus along with the views (see internal/focus.ts); it registers itself. */
  readonly #focus = new FocusFollower(this);

  // ---- public properties ---------------------------------------------------------------------

  /** The session's phase (the client's `ClientPhase`); read-only. */
  get phase(): ClientPhase {
    return this.#s.phase;
  }

  /** The client's state (`ClientState`), or an idle state before any session. */
  get state(): ClientState {
    const s = this.#s;
    return s.session?.client.getState() ?? { phase: s.phase, lastTransitionAt: 0 };
  }

  /**
   * The RTCConfiguration for the next session. Unless set explicitly it is
   * `{ iceServers: <ice-servers attribute> }`, or `{}` without the attribute: then the Registry's
   * ICE servers are used.
   */
  get rtcConfiguration(): RTCConfiguration {
    if (this.#rtc) return this.#rtc;
    // Not a JSON array: no servers (reported as a setup mistake, never echoed: it may hold credentials).
    return this.iceServers ? { iceServers: parseIceServers(this.iceServers) ?? [] } : {};
  }
  set rtcConfiguration(v: RTCConfiguration | undefined) {
    const old = this.#rtc;
    this.#rtc = v ?? undefined;
    this.requestUpdate("rtcConfiguration", old);
  }

  /**
   * Live quality of the open connection: RTT and jitter (ms), bytes and messages per channel,
   * loss on the unreliable channel, route, quality rating. Null when not connected.
   */
  getStats(): Promise<ConnectionStats | null> {
    return this.#s.session?.client.getStats() ?? Promise.resolve(null);
  }

  /** The route the open connection took (as on `peer-open`), or null. */
  get route(): IceRoute | null {
    return this.#s.session?.client.getRoute() ?? null;
  }

  /** Bytes queued on the channels, 0 without a session. */
  get bufferedAmount(): number {
    return this.#s.session?.client.getBufferedAmount() ?? 0;
  }

  /** The current session's RegistryClient (created on first use); null without a valid setup. */
  get client(): RegistryClient | null {
    return this.#problem() ? null : this.#session().client;
  }

  /** The share link of the host's room, or null before `createRoom()`. */
  get shareUrl(): string | null {
    return this.#s.shareUrl;
  }

  // ---- public methods ------------------------------------------------------------------------

  /** Host: creates a room; sets `roomCode`/`joinCode` and fires `room-created`. */
  async createRoom(): Promise<RoomCreatedDetail> {
    const s = this.#session(true);
    if (s.role !== "host") throw new Error("createRoom() is for the host");
    return this.#s.createRoom(s);
  }

  /** Guest: redeems the join code for `roomCode` (from the attributes, the form or the URL fragment). */
  async join(): Promise<void> {
    const s = this.#session(true);
    if (s.role !== "guest") throw new Error("join() is for the guest");
    const codes = this.#guestCodes();
    if (!codes.code || !codes.joinCode) throw new Error("join() needs a valid room code and join code");
    await this.#s.join(s, codes.code, codes.joinCode);
  }

  /**
   * Connects: the host creates a room first if it has none, the guest joins first if it has not.
   * Resolves when the client's connect() does (the channel is open).
   */
  connect(): Promise<void> {
    // One attempt at a time: calling again while it runs (or while open) shares it.
    const running = this.#s.running;
    if (running) return running;
    let s: Session;
    try {
      s = this.#session(true);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#s.connect(s, () => (s.role === "host" ? this.createRoom() : this.join()));
  }

  /**
   * Sends one packet on the reliable channel, or with `{ reliable: false }` on the unreliable one.
   * Returns false while over `backpressure-threshold` (wait for `drain`). Throws before `peer-open`.
   */
  send(data: string | ArrayBuffer | ArrayBufferView, opts: SendPacketOptions = {}): boolean {
    const s = this.#s.session;
    if (!s) throw new Error("send() before connect()");
    return s.client.send(data, opts);
  }

  /** Ends the session (the peer gets `peer-close`). The element can start a new one afterwards. */
  close(reason = "closed"): void {
    this.#s.close(reason);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  #onPageHide = (): void => {
    // Leaving the page: tell the peer now rather than letting it wait for ICE to time out.
    if (this.#s.session) this.close("page closed");
  };
  #onHashChange = (): void => {
    if (!this.#s.session?.room?.token) this.#fillForm();
    // New codes in the URL are a new go for auto-connect.
    if (!this.#s.op) this.#autoStarted = false;
    this.#maybeAuto();
  };

  /** Setup mistakes in the attributes are reported once the page has loaded (its scripts may set them). */
  #onLoad = (): void => this.#s.setup(this.#problem());

  override connectedCallback(): void {
    // auto-connect's first start is queued ahead of the first render (Lit queues that in
    // super.connectedCallback), so the render overlaps the connection and the first request
    // instead of delaying them (5-15 ms on a busy machine). Still after the attaching script.
    if (!this.hasUpdated) queueMicrotask(() => this.#maybeAuto());
    super.connectedCallback();
    addEventListener("pagehide", this.#onPageHide);
    addEventListener("hashchange", this.#onHashChange);
    if (document.readyState !== "complete") addEventListener("load", this.#onLoad, { once: true });
    // Re-attached after the page loaded (the load listener went with the removal): check now.
    else if (this.hasUpdated) this.#onLoad();
    this.#fillForm();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener("pagehide", this.#onPageHide);
    removeEventListener("hashchange", this.#onHashChange);
    removeEventListener("load", this.#onLoad);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const setup =
      !this.hasUpdated ||
      ["baseUrl", "role", "iceServers", "rtcConfiguration"].some((k) => changed.has(k as keyof RegistryPeer));
    if (setup && document.readyState === "complete") this.#onLoad();
    const s = this.#s.session;
    if (
      s &&
      (changed.has("role") || changed.has("baseUrl")) &&
      (s.baseUrl !== this.baseUrl || s.role !== this.#role())
    ) {
      this.#s.end("reconfigured");
      this.#fillForm();
    }
    const f = this._form.values;
    if (changed.has("userName") && this.userName && !f.name)
      this._form = { ...this._form, values: { ...f, name: this.userName } };
    if (!this.#s.session?.room?.token && (changed.has("roomCode") || changed.has("joinCode"))) {
      this.#fillForm();
      // A guest given new codes may auto-connect again (the host's codes are outputs, not a trigger).
      if (this.#role() === "guest" && !this.#s.op) this.#autoStarted = false;
    }
  }

  protected override updated(): void {
    // After this update, not inside it: starting sets reactive state.
    queueMicrotask(() => this.#maybeAuto());
  }

  /** The setup mistake in the attributes now, if any. */
  #problem(): ConfigProblem | null {
    // An explicit rtcConfiguration makes the ice-servers attribute irrelevant.
    return checkConfig(this.baseUrl, this.role, this.#rtc ? undefined : this.iceServers);
  }

  // ---- sessions ----------------------------------------------------------------------------------

  #role(): Role {
    if (this.role === "host" || this.role === "guest") return this.role;
    const f = parseShare(location.hash);
    return f.code && f.joinCode ? "guest" : "host";
  }

  /** The guest's codes: attributes first, then the form, then the page's URL fragment. */
  #guestCodes(): ShareCodes {
    const frag = parseShare(location.hash);
    const f = this._form.values;
    return {
      code: normalizeRoomCode(this.roomCode) ?? normalizeRoomCode(f.code) ?? frag.code,
      joinCode: normalizeJoinCode(this.joinCode) ?? normalizeJoinCode(f.join) ?? frag.joinCode,
    } as ShareCodes;
  }

  #session(fresh = false): Session {
    const p = this.#problem();
    if (p) throw this.#s.config(p);
    const role = this.#role();
    const name = (this._form.values.name || this.userName || "").trim() || (role === "host" ? "Host" : "Guest");
    return this.#s.ensure(role, name, fresh);
  }

  #maybeAuto(): void {
    if (!this.autoConnect || !this.isConnected || !this.baseUrl || this.#s.op || this.#autoStarted) return;
    if (this.#s.session && this.#s.phase !== "idle") return;
    if (this.#role() === "guest") {
      const c = this.#guestCodes();
      if (!c.code || !c.joinCode) return;
    }
    this.#autoStarted = true;
    this.connect().catch(() => {
      // Reported as peer-error and shown by the UI.
    });
  }

  // ---- UI ------------------------------------------------------------------------------------------

  #fillForm(): void {
    const values = fillForm(this._form.values, this.roomCode, this.joinCode, this.userName, location.hash);
    this._form = { ...this._form, values };
  }

  async #submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this.#s.op) return; // a double submit: the first one is running
    const role = this.#role();
    const { form, bad } = validate(this._form, role === "host" ? ["name"] : ["code", "join", "name"]);
    this._form = form;
    if (bad) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLInputElement>(`input[name=${bad}]`)?.focus();
      return;
    }
    // The form's values are what the player meant: a new session with them.
    this.#s.end("restart");
    if (role === "guest") {
      this.roomCode = normalizeRoomCode(form.values.code)!;
      this.joinCode = normalizeJoinCode(form.values.join)!;
    }
    this.connect().catch(() => {});
  }

  #retry(): void {
    const err = this.#s.err;
    if (!err) return;
    this.#s.err = null;
    // "Try again" repeats the failed step with a fresh client; an opened session starts over.
    if (err.op === "create" && this.#s.session) this.#s.end("restart");
    this.connect().catch(() => {});
  }

  #restart(): void {
    const role = this.#role();
    this.#s.end("restart");
    if (role === "guest") {
      this.#fillForm();
      // The player drives the next attempt from the form: the same (spent) codes do not auto-join again.
      this.#autoStarted = true;
    }
    if (role === "host" && this.autoConnect) this.connect().catch(() => {});
  }

  async #copy(): Promise<void> {
    const url = this.shareUrl;
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      this.#s.note = mergeStrings(this.strings).linkCopied;
    } catch {
      // No clipboard permission: select the link so Ctrl+C / long-press copies it.
      this.renderRoot.querySelector<HTMLInputElement>("input[name=share]")?.select();
      this.#s.note = mergeStrings(this.strings).pressToCopy;
    }
    this.requestUpdate();
  }

  #leave(): void {
    this.close("left");
  }

  /** Typing (input) or leaving (blur) a form field. */
  #onField(e: Event): void {
    const t = e.target as HTMLInputElement;
    const key = t.name as FieldKey;
    this._form = e.type === "input" ? applyInput(this._form, key, t.value) : applyBlur(this._form, key);
  }

  protected override render(): unknown {
    if (this.noUi) return nothing;
    // Lit calls template listeners with `this` = the element, so methods go in unbound.
    return panel(
      { s: this.#s, role: this.#s.session?.role ?? this.#role(), form: this._form, t: mergeStrings(this.strings) },
      {
        retry: this.#retry,
        restart: this.#restart,
        leave: this.#leave,
        copy: this.#copy,
        field: this.#onField,
        submit: this.#submit,
      },
    );
  }
}
