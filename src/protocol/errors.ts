/**
 * Error codes and the envelope (docs/protocol.md, Errors), shared by server and client.
 *
 * ERRORS is the one table: code → [HTTP status, retry, default message]. `retry` is decided here
 * only:
 *   0  not retryable: the same request fails the same way;
 *   1  retryable by the caller once the room moved on (no_offer: post the answer again later);
 *   2  transient: the same request may be sent again after a backoff (the client does so itself).
 * The envelope's `retryable` is `retry > 0`. Messages never contain request data.
 */
export const ERRORS = {
  bad_request: [400, 0, "The request is malformed."],
  bad_sdp: [400, 0, "The session description is invalid."],
  bad_candidate: [400, 0, "The ICE candidate is invalid."],
  forbidden: [403, 0, "Not allowed."],
  /** The page's Origin is not in ALLOWED_ORIGINS (readable: the refusal carries CORS headers). */
  origin_not_allowed: [403, 0, "This page's origin is not allowed by the Registry."],
  bad_join_code: [403, 0, "The join code is wrong."],
  not_found: [404, 0, "No such room."],
  method_not_allowed: [405, 0, "Method not allowed on this route."],
  not_open: [409, 0, "The room is not open for joining."],
  already_paired: [409, 0, "The room is already paired."],
  no_offer: [409, 1, "The host has not posted an offer yet."],
  too_many_candidates: [409, 0, "Too many ICE candidates for this side."],
  too_many_restarts: [409, 0, "Too many ICE restarts for this room."],
  closed: [410, 0, "The room is closed."],
  body_too_large: [413, 0, "The request body is too large."],
  rate_limited: [429, 2, "Too many requests; retry later."],
  internal: [500, 2, "Internal error."],
  unavailable: [503, 2, "Service unavailable; retry later."],
} as const satisfies Record<string, readonly [number, 0 | 1 | 2, string]>;

export type ErrorCode = keyof typeof ERRORS;
export type Retry = 0 | 1 | 2;

/** One column of ERRORS as a code-keyed table (called pure: a bundle that never reads it drops it). */
const column = (i: 0 | 2) => Object.fromEntries(Object.entries(ERRORS).map(([c, row]) => [c, row[i]]));
/** HTTP status of each code (read from ERRORS). */
export const ERROR_STATUS = /* @__PURE__ */ column(0) as { readonly [C in ErrorCode]: (typeof ERRORS)[C][0] };
// Pure: a bundle that never reads ERROR_CODES drops it.
export const ERROR_CODES = /* @__PURE__ */ Object.keys(ERRORS) as ErrorCode[];

/**
 * How a failure may be retried: the table for a known code; for a code this version does not know
 * (a newer server), by status: 429 and 5xx are transient, anything else is not.
 */
export function retryOf(code: string, status: number): Retry {
  if (Object.hasOwn(ERRORS, code)) return ERRORS[code as ErrorCode][1];
  return status === 429 || status >= 500 ? 2 : 0;
}

/**
 * Close reasons the Registry keeps and tells the room's players (on its `410 closed`): a fixed
 * list, so nothing a client typed is ever stored. Any other `reason` on /close is dropped.
 * `connection_failed`: a player said so on /close (nothing could connect). `expired`: the
 * Registry closed the room because its state's TTL ran out (e.g. nobody joined in time).
 */
export const CLOSE_REASONS = ["connection_failed", "expired"] as const;
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

/** Default human-readable messages. They never contain request data (docs/protocol.md, Errors). */
/** Default human-readable messages (read from ERRORS). They never contain request data. */
export const ERROR_MESSAGES = /* @__PURE__ */ column(2) as Record<ErrorCode, string>;

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === "string" && Object.hasOwn(ERRORS, x);
}

export function errorEnvelope(
  code: ErrorCode,
  extra: { message?: string; retryAfterSec?: number; retryable?: boolean; closeReason?: CloseReason } = {},
): ErrorEnvelope {
  const body: ErrorBody = { code, message: extra.message ?? ERRORS[code][2] };
  const retryable = extra.retryable ?? ERRORS[code][1] > 0;
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
  if (typeof retryAfterSec === "number" && Number.isFinite(retryAfterSec) && retryAfterSec >= 0)
    out.retryAfterSec = retryAfterSec;
  if (isCloseReason(closeReason)) out.closeReason = closeReason;
  return out;
}
