/**
 * A human message for every error code the element can report (the Registry's codes of
 * registry-api.md §6 plus the client's local ones), and what the UI offers next.
 */
import type { ClientErrorCode } from "../client/errors.ts";

export type RecoveryAction =
  /** Run the failed step again (after `retryAfterSec` when given). */
  | "retry"
  /** Back to the form: the player has to fix what they typed. */
  | "form"
  /** Nothing to retry: start a new session (a new room for the host, the form for the guest). */
  | "restart";

export interface ErrorText {
  message: string;
  action: RecoveryAction;
}

const T = (message: string, action: RecoveryAction = "restart"): ErrorText => ({ message, action });

/** Keyed by error code (the type makes a missing code a compile error); unknown codes → `unknown`. */
export const ERROR_TEXT: Record<ClientErrorCode, ErrorText> = {
  bad_request: T("The Registry did not accept the request. Check your name and codes, then try again.", "form"),
  bad_sdp: T("Your browser's connection offer was refused by the Registry. Start over to try again."),
  bad_candidate: T("A network route from your browser was refused by the Registry. Start over to try again."),
  forbidden: T("The Registry refused access: this page may not be allowed to use it, or the session ended."),
  origin_not_allowed: T("The Registry does not allow this page's origin."),
  bad_join_code: T("That join code is not right. Check it with the host and try again.", "form"),
  not_found: T("There is no room with that code. It may have expired: ask the host for a new link.", "form"),
  method_not_allowed: T("The Registry did not understand the request. Is base-url the Registry's address?"),
  not_open: T("That room is not open for joining any more: someone has already joined it.", "form"),
  already_paired: T("That room already has two players.", "form"),
  no_offer: T("The host is not ready yet. Try again in a moment.", "retry"),
  too_many_candidates: T("Too many network routes were offered, so the connection could not be set up. Start over."),
  too_many_restarts: T("The connection dropped too many times. Start over to make a new one."),
  closed: T("The room is closed."),
  body_too_large: T("A message to the Registry was too large. Start over to try again."),
  rate_limited: T("Too many attempts in a short time.", "retry"),
  internal: T("The Registry had a problem. Try again.", "retry"),
  unavailable: T("The Registry is unavailable right now. Try again.", "retry"),
  transition: T("That is not possible right now. Start over."),
  sdp_too_large: T("Your browser's connection offer is too large for the Registry. Start over."),
  candidate_too_large: T("A network route from your browser is too large for the Registry. Start over."),
  network: T("Cannot reach the Registry. Check your connection and try again.", "retry"),
  timeout: T("The other player did not arrive in time.", "retry"),
  // As connection_failed: the peer-error message itself says which (another name, or none opened).
  channel_mismatch: T("The other player's page uses a different data channel name, so the two cannot talk."),
  // The peer-error message itself says why (no relay configured / the relay failed); this is the fallback.
  connection_failed: T("Could not connect to the other player: no network route between you was found."),
  unknown: T("Something went wrong. Try again.", "retry"),
};

export function describeError(code: string): ErrorText {
  return Object.hasOwn(ERROR_TEXT, code) ? ERROR_TEXT[code as ClientErrorCode] : ERROR_TEXT.unknown;
}
