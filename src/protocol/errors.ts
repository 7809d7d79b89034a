/** Error codes and the envelope of registry-api.md §6, shared by server and client. */
export const ERROR_STATUS = {
  bad_request: 400,
  bad_sdp: 400,
  bad_candidate: 400,
  forbidden: 403,
  bad_join_code: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_open: 409,
  already_paired: 409,
  no_offer: 409,
  too_many_candidates: 409,
  too_many_restarts: 409,
  closed: 410,
  body_too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
// Pure: a bundle that never reads ERROR_CODES (the client) drops it, and ERROR_STATUS with it.
export const ERROR_CODES = /* @__PURE__ */ Object.keys(ERROR_STATUS) as ErrorCode[];

/**
 * Close reasons the Registry keeps and tells the other player (on its `410 closed`): a fixed
 * list, so nothing a client typed is ever stored. Any other `reason` on /close is dropped.
 */
export const CLOSE_REASONS = ["connection_failed"] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export function isCloseReason(x: unknown): x is CloseReason {
  return (CLOSE_REASONS as readonly unknown[]).includes(x);
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
  retryAfterSec?: number;
  /** (ext) On `closed`: why the other player closed the room, when it said so from CLOSE_REASONS. */
  closeReason?: CloseReason;
}
export interface ErrorEnvelope {
  error: ErrorBody;
}

/** Default human-readable messages. They never contain request data (§6, §9). */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  bad_request: "The request is malformed.",
  bad_sdp: "The session description is invalid.",
  bad_candidate: "The ICE candidate is invalid.",
  forbidden: "Not allowed.",
  bad_join_code: "The join code is wrong.",
  not_found: "No such room.",
  method_not_allowed: "Method not allowed on this route.",
  not_open: "The room is not open for joining.",
  already_paired: "The room is already paired.",
  no_offer: "The host has not posted an offer yet.",
  too_many_candidates: "Too many ICE candidates for this side.",
  too_many_restarts: "Too many ICE restarts for this room.",
  closed: "The room is closed.",
  body_too_large: "The request body is too large.",
  rate_limited: "Too many requests; retry later.",
  internal: "Internal error.",
  unavailable: "Service unavailable; retry later.",
};

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === "string" && Object.prototype.hasOwnProperty.call(ERROR_STATUS, x);
}

export function errorEnvelope(
  code: ErrorCode,
  extra: { message?: string; retryAfterSec?: number; retryable?: boolean; closeReason?: CloseReason } = {},
): ErrorEnvelope {
  const body: ErrorBody = { code, message: extra.message ?? ERROR_MESSAGES[code] };
  const retryable = extra.retryable ?? (code === "rate_limited" || code === "internal" || code === "unavailable" || code === "no_offer");
  if (retryable) body.retryable = true;
  if (extra.retryAfterSec !== undefined) body.retryAfterSec = extra.retryAfterSec;
  if (extra.closeReason !== undefined) body.closeReason = extra.closeReason;
  return { error: body };
}

/** Reads an error envelope from untrusted JSON; null if it is not one. Unknown fields are ignored. */
export function parseErrorEnvelope(x: unknown): ErrorBody | null {
  if (!x || typeof x !== "object") return null;
  const e = (x as { error?: unknown }).error;
  if (!e || typeof e !== "object") return null;
  const { code, message, retryable, retryAfterSec, closeReason } = e as Record<string, unknown>;
  if (typeof code !== "string") return null;
  const out: ErrorBody = { code: code as ErrorCode, message: typeof message === "string" ? message : "" };
  if (typeof retryable === "boolean") out.retryable = retryable;
  if (typeof retryAfterSec === "number" && Number.isFinite(retryAfterSec) && retryAfterSec >= 0) out.retryAfterSec = retryAfterSec;
  if (isCloseReason(closeReason)) out.closeReason = closeReason;
  return out;
}
