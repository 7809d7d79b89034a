/**
 * The element's views as render functions of one `ViewModel`: the error view, connected,
 * closed, the host's room (codes and share link), busy, and the host's and guest's forms.
 * `panel()` picks one and wraps it with the slots and the status line. No state lives here.
 * Every text comes from the strings (`t`). The control a view marks `data-focus` is where focus
 * goes when the previous view's control went away (see the element's updated()).
 */
import { html, nothing, type TemplateResult } from "lit";
import { TERMINAL } from "../../client/state.ts";
import type { ClientPhase, Role } from "../../client/types.ts";
import { formatJoinCode } from "../../protocol/index.ts";
import { describeError } from "../messages.ts";
import type { RegistryPeerStrings } from "../strings.ts";
import { serverField, type FieldKey, type FormState } from "./form.ts";
import type { SessionController, UiError } from "./session-controller.ts";

export interface ViewModel {
  /** The session: phase, error, note, running step, countdown, the host's room. */
  s: SessionController;
  role: Role;
  form: FormState;
  t: RegistryPeerStrings;
}

/**
 * The element's handlers. Templates bind them with `@event=${…}`, which Lit calls with `this` set
 * to the element (the render's host), so they are the element's methods, passed unbound.
 */
export interface ViewActions {
  retry(): void;
  restart(): void;
  leave(): void;
  copy(): Promise<void>;
  /** An input or blur event of a form field. */
  field(e: Event): void;
  submit(e: Event): Promise<void>;
}

/** The status line's text and the view's body. */
type View = [status: string, body: unknown];

type Busy = "creating" | "waitingGuest" | "joining" | "connecting";
const BUSY_HOST: Partial<Record<ClientPhase, Busy>> = {
  creating_room: "creating",
  waiting_guest: "waitingGuest",
  posting_offer: "waitingGuest",
  polling_room: "waitingGuest",
  draining_ice: "connecting",
  connecting_rtc: "connecting",
};
const BUSY_GUEST: Partial<Record<ClientPhase, Busy>> = {
  joining_room: "joining",
  posting_answer: "connecting",
  polling_room: "connecting",
  draining_ice: "connecting",
  connecting_rtc: "connecting",
};

/** A button; `primary` is the view's main action, `focus` where focus goes (the primary one by default). */
const button = (
  label: string,
  handler: () => unknown,
  primary = false,
  disabled = false,
  focus = primary,
): TemplateResult =>
  html`<button
    type="button"
    part="button ${primary ? "primary-button" : "secondary-button"}"
    class=${primary ? "" : "secondary"}
    ?disabled=${disabled}
    ?data-focus=${focus}
    @click=${handler}
  >
    ${label}
  </button>`;

function errorView(m: ViewModel, a: ViewActions, err: UiError): View {
  const { t } = m;
  // A setup mistake: nothing to retry until the page fixes the attribute.
  if (err.code === "config") return [err.message, nothing];
  const text = describeError(err.code);
  const wait = m.s.countdown.seconds;
  const status = err.code === "rate_limited" && wait > 0 ? `${err.message} ${t.waitFor(wait)}` : err.message;
  // The player fixes what they typed in place; the form's button is the retry.
  if (text.action === "form" && !m.s.session?.room?.token) return [status, formView(m, a)];
  const retry = text.action === "retry" || err.retryable;
  return [
    status,
    html`<div class="row">
      ${retry ? button(wait > 0 ? t.tryAgainIn(wait) : t.tryAgain, a.retry, true, wait > 0) : nothing}
      ${button(t.startOver, a.restart, !retry)}
    </div>`,
  ];
}

function connectedView(m: ViewModel, a: ViewActions): View {
  const snap = m.s.session?.client.getRoomSnapshot();
  const other = m.role === "host" ? snap?.guestUserName : snap?.hostUserName;
  return [
    other ? m.t.connectedTo(other) : m.t.connected,
    html`<div class="row">${button(m.t.leave, a.leave, false, false, true)}</div>`,
  ];
}

/** An open connection being recovered: say so, offer to leave (packets sent meanwhile are kept). */
function reconnectingView(m: ViewModel, a: ViewActions): View {
  const status = m.s.reconnecting === "peer_unresponsive" ? m.t.waitingForPeer : m.t.reconnecting;
  return [
    status,
    html`<progress part="progress" aria-label=${status}></progress>
      <div class="row">${button(m.t.leave, a.leave, false, false, true)}</div>`,
  ];
}

/** The close reasons the closed view says in words; others are "closed". */
const CLOSED_BY: Record<string, "peerLeft" | "peerGone" | "connectionLost"> = {
  peer_closed: "peerLeft",
  peer_unresponsive: "peerGone",
  connection_lost: "connectionLost",
  // ICE dropped before the channel opened and did not come back within the grace.
  disconnected: "connectionLost",
};

function closedView(m: ViewModel, a: ViewActions): View {
  const { t } = m;
  const why = CLOSED_BY[m.s.closeReason];
  return [
    m.s.phase === "closing" ? t.closing : why ? t[why] : t.closed,
    html`<div class="row">${button(m.role === "host" ? t.newRoom : t.joinAnother, a.restart, true)}</div>`,
  ];
}

function hostRoomView(m: ViewModel, a: ViewActions, room: { code: string; joinCode: string }): View {
  const { t } = m;
  const { phase, note } = m.s;
  const waiting = t[BUSY_HOST[phase] ?? "waitingGuest"];
  const wait = m.s.countdown.seconds;
  return [
    note ? `${note}${wait > 0 ? ` ${t.retryingIn(wait)}` : ""}` : waiting,
    html`<dl part="codes" class="codes">
        <dt>${t.roomCode}</dt>
        <dd part="room-code">${room.code}</dd>
        <dt>${t.joinCode}</dt>
        <dd part="join-code">${formatJoinCode(room.joinCode)}</dd>
      </dl>
      <div class="row">
        <input part="input share-link" name="share" readonly aria-label=${t.shareLink} .value=${m.s.shareUrl!} />
        <button type="button" part="button copy-button secondary-button" class="secondary" data-focus @click=${a.copy}>
          ${t.copyLink}
        </button>
      </div>
      <p>${t.shareHint}</p>
      <progress part="progress" aria-label=${waiting}></progress>
      <div class="row">${button(t.cancel, a.restart)}</div>`,
  ];
}

function busyView(m: ViewModel): View {
  const { t } = m;
  const { phase, note, op } = m.s;
  const busy = m.role === "host" ? BUSY_HOST[phase] : BUSY_GUEST[phase];
  let status = busy ? t[busy] : op === "join" ? t.joining : t.connecting;
  const wait = m.s.countdown.seconds;
  if (note) status = `${note} ${wait > 0 ? t.retryingIn(wait) : status}`;
  return [status, html`<progress part="progress" aria-label=${status}></progress>`];
}

/** Whether `key` is flagged: a local check, or a Registry error about it (told by the status line). */
const invalid = (m: ViewModel, key: FieldKey): boolean => !!m.form.errors[key] || serverField(m.s.err?.code) === key;

/** `focus`: where focus goes when the form replaces the view that had it. */
function field(
  m: ViewModel,
  a: ViewActions,
  key: FieldKey,
  label: string,
  hint: string,
  autocomplete: string,
  maxlength: string,
  focus: boolean,
): TemplateResult {
  const local = m.form.errors[key];
  const bad = invalid(m, key);
  return html`<label part="label"
    >${label}
    <input
      part="input"
      name=${key}
      .value=${m.form.values[key]}
      autocomplete=${autocomplete}
      spellcheck="false"
      placeholder=${hint}
      maxlength=${maxlength}
      aria-invalid=${bad ? "true" : "false"}
      aria-describedby=${local ? `${key}-err` : bad ? "status" : nothing}
      ?data-focus=${focus}
      @input=${a.field}
      @blur=${a.field}
    />
    ${local ? html`<span part="field-error" class="field-error" id="${key}-err">${m.t[local]}</span>` : nothing}
  </label>`;
}

/**
 * The host's form (a name, "Create room") or the guest's (both codes, a name, "Join room").
 * Focus target: the first flagged field, else the first field.
 */
function formView(m: ViewModel, a: ViewActions): TemplateResult {
  const { t } = m;
  const keys: FieldKey[] = m.role === "host" ? ["name"] : ["code", "join", "name"];
  const target = keys.find((k) => invalid(m, k)) ?? keys[0];
  return m.role === "host"
    ? html`<form part="form" novalidate @submit=${a.submit}>
        ${field(m, a, "name", t.nameLabel, t.hostNamePlaceholder, "nickname", "64", true)}
        <button part="button primary-button">${t.createRoom}</button>
      </form>`
    : html`<form part="form" novalidate @submit=${a.submit}>
        ${field(m, a, "code", t.roomCodeLabel, "K7M2QX", "off", "64", target === "code")}
        ${field(m, a, "join", t.joinCodeLabel, "ABCD-1234", "off", "2048", target === "join")}
        ${field(m, a, "name", t.nameLabel, t.guestNamePlaceholder, "nickname", "64", target === "name")}
        <button part="button primary-button">${t.joinRoom}</button>
      </form>`;
}

function pick(m: ViewModel, a: ViewActions): View {
  const { phase, err, op, hostRoom, session } = m.s;
  if (err) return errorView(m, a, err);
  if (m.s.reconnecting && session?.opened && !TERMINAL.includes(phase)) return reconnectingView(m, a);
  if (phase === "open") return connectedView(m, a);
  if (phase === "closed" || phase === "closing") return closedView(m, a);
  if (hostRoom) return hostRoomView(m, a, hostRoom);
  // (A token in "idle": the guest has joined and connect() follows.)
  if (op || (phase !== "idle" && phase !== "error") || session?.room?.token) return busyView(m);
  return [m.role === "host" ? m.t.hostIdle : m.t.guestIdle, formView(m, a)];
}

/**
 * The whole UI: the `heading` slot, the status line (aria-live; focusable so focus has a place
 * while nothing else can take it), the current view, the `actions` slot (slots have no box of
 * their own: what is slotted lays out as a row of the panel).
 */
export function panel(m: ViewModel, a: ViewActions): TemplateResult {
  const [status, body] = pick(m, a);
  const part = m.s.err ? "status error" : "status";
  return html`<div part="panel" class="panel">
    <slot name="heading"></slot>
    <p part=${part} class=${part} id="status" role="status" aria-live="polite" tabindex="-1">${status}</p>
    ${body}
    <slot name="actions"></slot>
  </div>`;
}
