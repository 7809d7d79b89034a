/**
 * The element's views as render functions of one `ViewModel`: the error view, connected,
 * closed, the host's room (codes and share link), busy, and the host's and guest's forms.
 * `panel()` picks one and wraps it with the status line. No state lives here.
 */
import { html, nothing, type TemplateResult } from "lit";
import type { ClientPhase, Role } from "../../client/types.ts";
import { formatJoinCode } from "../../protocol/index.ts";
import { describeError } from "../messages.ts";
import type { FieldKey, FormState } from "./form.ts";
import type { SessionController, UiError } from "./session-controller.ts";

export interface ViewModel {
  /** The session: phase, error, note, running step, countdown, the host's room. */
  s: SessionController;
  role: Role;
  form: FormState;
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
  input(e: Event): void;
  blur(e: Event): void;
  submit(e: Event): Promise<void>;
}

/** The status line's text and the view's body. */
type View = [status: string, body: unknown];

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

const button = (label: string, handler: () => unknown, primary = false, disabled = false): TemplateResult =>
  html`<button
    type="button"
    part="button ${primary ? "primary-button" : "secondary-button"}"
    class=${primary ? "" : "secondary"}
    ?disabled=${disabled}
    @click=${handler}
  >
    ${label}
  </button>`;

function errorView(m: ViewModel, a: ViewActions, err: UiError): View {
  const text = describeError(err.code);
  const wait = m.s.countdown.seconds;
  const status = err.code === "rate_limited" && wait > 0 ? `${text.message} Try again in ${wait} s.` : text.message;
  // The player fixes what they typed in place; the form's button is the retry.
  if (text.action === "form" && !m.s.session?.room?.token) return [status, formView(m, a)];
  const retry = text.action === "retry" || err.retryable;
  return [
    status,
    html`<div class="row">
      ${retry ? button(wait > 0 ? `Try again in ${wait} s` : "Try again", a.retry, true, wait > 0) : nothing}
      ${button("Start over", a.restart, !retry)}
    </div>`,
  ];
}

function connectedView(m: ViewModel, a: ViewActions): View {
  const snap = m.s.session?.client.getRoomSnapshot();
  const other = m.role === "host" ? snap?.guestUserName : snap?.hostUserName;
  return [other ? `Connected to ${other}.` : "Connected.", html`<div class="row">${button("Leave", a.leave)}</div>`];
}

function closedView(m: ViewModel, a: ViewActions): View {
  return [
    m.s.phase === "closing" ? "Closing…" : "The connection is closed.",
    html`<div class="row">${button(m.role === "host" ? "New room" : "Join another room", a.restart, true)}</div>`,
  ];
}

function hostRoomView(m: ViewModel, a: ViewActions, room: { code: string; joinCode: string }): View {
  const { phase, note } = m.s;
  const waiting = BUSY_HOST[phase] ?? "Waiting for the guest to join…";
  const wait = m.s.countdown.seconds;
  return [
    note ? `${note}${wait > 0 ? ` Retrying in ${wait} s…` : ""}` : waiting,
    html`<dl part="codes" class="codes">
        <dt>Room code</dt>
        <dd part="room-code">${room.code}</dd>
        <dt>Join code</dt>
        <dd part="join-code">${formatJoinCode(room.joinCode)}</dd>
      </dl>
      <div class="row">
        <input part="input share-link" name="share" readonly aria-label="Share link" .value=${m.s.shareUrl!} />
        <button type="button" part="button copy-button secondary-button" class="secondary" @click=${a.copy}>
          Copy link
        </button>
      </div>
      <p>Send the link (or both codes) to the other player.</p>
      <progress part="progress" aria-label=${waiting}></progress>
      <div class="row">${button("Cancel", a.restart)}</div>`,
  ];
}

function busyView(m: ViewModel): View {
  const { phase, note, op } = m.s;
  let status = (m.role === "host" ? BUSY_HOST[phase] : BUSY_GUEST[phase]) ?? (op === "join" ? "Joining the room…" : "Connecting…");
  const wait = m.s.countdown.seconds;
  if (note) status = `${note} ${wait > 0 ? `Retrying in ${wait} s…` : status}`;
  return [status, html`<progress part="progress" aria-label=${status}></progress>`];
}

function field(m: ViewModel, a: ViewActions, key: FieldKey, label: string, hint: string, autocomplete: string, maxlength: string): TemplateResult {
  const err = m.form.errors[key];
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
      aria-invalid=${err ? "true" : "false"}
      aria-describedby=${err ? `${key}-err` : nothing}
      @input=${a.input}
      @blur=${a.blur}
    />
    ${err ? html`<span part="field-error" class="field-error" id="${key}-err">${err}</span>` : nothing}
  </label>`;
}

/** The host's form (a name, "Create room") or the guest's (both codes, a name, "Join room"). */
function formView(m: ViewModel, a: ViewActions): TemplateResult {
  return m.role === "host"
    ? html`<form part="form" novalidate @submit=${a.submit}>
        ${field(m, a, "name", "Your name", "Alice", "nickname", "64")}
        <button part="button primary-button">Create room</button>
      </form>`
    : html`<form part="form" novalidate @submit=${a.submit}>
        ${field(m, a, "code", "Room code", "K7M2QX", "off", "64")}
        ${field(m, a, "join", "Join code or link", "ABCD-1234", "off", "2048")}
        ${field(m, a, "name", "Your name", "Bob", "nickname", "64")}
        <button part="button primary-button">Join room</button>
      </form>`;
}

function pick(m: ViewModel, a: ViewActions): View {
  const { phase, err, op, hostRoom, session } = m.s;
  if (err) return errorView(m, a, err);
  if (phase === "open") return connectedView(m, a);
  if (phase === "closed" || phase === "closing") return closedView(m, a);
  if (hostRoom) return hostRoomView(m, a, hostRoom);
  // (A token in "idle": the guest has joined and connect() follows.)
  if (op || (phase !== "idle" && phase !== "error") || session?.room?.token) return busyView(m);
  return [
    m.role === "host" ? "Create a room, then send its link to the other player." : "Enter the codes the host sent you, or open their link.",
    formView(m, a),
  ];
}

/** The whole UI: the status line (aria-live) and the current view. */
export function panel(m: ViewModel, a: ViewActions): TemplateResult {
  const [status, body] = pick(m, a);
  const part = m.s.err ? "status error" : "status";
  return html`<div part="panel" class="panel">
    <p part=${part} class=${part} role="status" aria-live="polite">${status}</p>
    ${body}
  </div>`;
}
