/**
 * The client's phases as a pure reducer. Every transition is listed in
 * TRANSITIONS; anything else throws TransitionError. The client calls `reduce` for each
 * step and publishes the new (immutable) state object.
 */
import { TransitionError, type RegistryError } from "./errors.ts";
import type { ClientPhase, ClientState, Role } from "./types.ts";

export type Action =
  | { type: "create" }
  | { type: "created"; code: string; token: string }
  | { type: "join" }
  | { type: "joined"; code: string; token: string }
  /** createRoom/joinRoom failed: back to idle, error remembered. */
  | { type: "request_failed"; error: RegistryError }
  | { type: "connect"; role: Role; code: string; token: string }
  | { type: "offer_posted" }
  /** Host: answer applied. Guest: answer posted. Both now exchange ICE. */
  | { type: "answered" }
  | { type: "ice_connected" }
  | { type: "dc_open" }
  /** Host ICE restart: a new offer goes out. */
  | { type: "restart" }
  /** Guest: the host restarted ICE, a new answer goes out. */
  | { type: "reoffer" }
  | { type: "rtc"; rtc: NonNullable<ClientState["rtc"]> }
  /** A retryable error worth surfacing (e.g. 429) without changing phase. */
  | { type: "error_noted"; error: RegistryError }
  | { type: "closing" }
  | { type: "closed"; error?: RegistryError }
  | { type: "failed"; error: RegistryError };

const LIVE: ClientPhase[] = [
  "posting_offer",
  "posting_answer",
  "polling_room",
  "draining_ice",
  "connecting_rtc",
  "open",
];

/** Phases each action may start from. */
export const TRANSITIONS: Record<Action["type"], readonly ClientPhase[]> = {
  create: ["idle"],
  created: ["creating_room"],
  join: ["idle"],
  joined: ["joining_room"],
  request_failed: ["creating_room", "joining_room"],
  connect: ["idle", "waiting_guest"],
  offer_posted: ["posting_offer"],
  answered: ["polling_room", "posting_answer"],
  ice_connected: ["draining_ice"],
  dc_open: ["draining_ice", "connecting_rtc"],
  restart: ["draining_ice", "connecting_rtc", "open"],
  reoffer: ["draining_ice", "connecting_rtc", "open"],
  rtc: LIVE,
  error_noted: ["idle", "creating_room", "waiting_guest", "joining_room", ...LIVE],
  closing: ["idle", "creating_room", "waiting_guest", "joining_room", ...LIVE],
  closed: ["idle", "creating_room", "waiting_guest", "joining_room", ...LIVE, "closing"],
  failed: ["idle", "creating_room", "waiting_guest", "joining_room", ...LIVE, "closing"],
};

export const TERMINAL: readonly ClientPhase[] = ["closed", "error"];

export function initialState(now: number): ClientState {
  return { phase: "idle", lastTransitionAt: now };
}

export function canApply(state: ClientState, type: Action["type"]): boolean {
  return TRANSITIONS[type].includes(state.phase);
}

function errInfo(e: RegistryError): NonNullable<ClientState["lastError"]> {
  const out: NonNullable<ClientState["lastError"]> = { code: e.code, message: e.message, retryable: e.retryable };
  if (e.retryAfterSec !== undefined) out.retryAfterSec = e.retryAfterSec;
  return out;
}

export function reduce(state: ClientState, action: Action, now: number): ClientState {
  if (!canApply(state, action.type)) {
    throw new TransitionError(`"${action.type}" is not allowed in phase "${state.phase}"`);
  }
  const next = (phase: ClientPhase, patch: Partial<ClientState> = {}): ClientState => ({
    ...state,
    ...patch,
    phase,
    lastTransitionAt: now,
  });
  switch (action.type) {
    case "create":
      return next("creating_room", { role: "host" });
    case "created":
      return next("waiting_guest", { code: action.code, accessToken: action.token });
    case "join":
      return next("joining_room", { role: "guest" });
    case "joined":
      return next("idle", { code: action.code, accessToken: action.token });
    case "request_failed":
      return next("idle", { lastError: errInfo(action.error) });
    case "connect":
      return next(action.role === "host" ? "posting_offer" : "posting_answer", {
        role: action.role,
        code: action.code,
        accessToken: action.token,
      });
    case "offer_posted":
      return next("polling_room");
    case "answered":
      return next("draining_ice");
    case "ice_connected":
      return next("connecting_rtc");
    case "dc_open":
      return next("open");
    case "restart":
      return next("posting_offer");
    case "reoffer":
      return next("posting_answer");
    // Not a phase change: keep lastTransitionAt.
    case "rtc":
      return { ...state, rtc: action.rtc };
    case "error_noted":
      return { ...state, lastError: errInfo(action.error) };
    case "closing":
      return next("closing");
    case "closed":
      return next("closed", action.error ? { lastError: errInfo(action.error) } : {});
    case "failed":
      return next("error", { lastError: errInfo(action.error) });
  }
}
