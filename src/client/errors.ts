/**
 * Typed errors (client-spec §8). One class per server code, plus local validation and
 * transition errors. Every error has `code`, `retryable` and (for 429) `retryAfterSec`.
 * Messages never contain tokens, join codes, SDP or candidate strings.
 */
import { ERROR_MESSAGES, parseErrorEnvelope, type ErrorCode } from "../protocol/index.ts";

export type ClientErrorCode =
  | ErrorCode
  | "transition"
  | "sdp_too_large"
  | "candidate_too_large"
  | "network"
  | "timeout"
  | "unknown";

export class RegistryError extends Error {
  readonly code: ClientErrorCode;
  readonly retryable: boolean;
  readonly retryAfterSec?: number;
  /** HTTP status for server errors; undefined for local ones. */
  readonly status?: number;
  constructor(code: ClientErrorCode, message: string, opts: { retryable?: boolean; retryAfterSec?: number; status?: number } = {}) {
    super(message);
    // Derived from the code, not `new.target.name`: minifiers rename classes, and a bundled
    // app must still see "BadJoinCodeError" (bad_join_code → BadJoinCodeError).
    this.name = new.target === RegistryError ? "RegistryError" : code.replace(/(?:^|_)(\w)/g, (_, c: string) => c.toUpperCase()) + "Error";
    this.code = code;
    this.retryable = opts.retryable ?? false;
    if (opts.retryAfterSec !== undefined) this.retryAfterSec = opts.retryAfterSec;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

type Opts = { retryable?: boolean; retryAfterSec?: number; status?: number };
const make = (code: ErrorCode, retryable = false) =>
  class extends RegistryError {
    constructor(message: string = ERROR_MESSAGES[code], opts: Opts = {}) {
      super(code, message, { retryable, ...opts });
    }
  };

// Server codes (registry-api §6).
export class BadRequestError extends make("bad_request") {}
export class BadSdpError extends make("bad_sdp") {}
export class BadCandidateError extends make("bad_candidate") {}
export class ForbiddenError extends make("forbidden") {}
export class OriginNotAllowedError extends make("origin_not_allowed") {}
export class BadJoinCodeError extends make("bad_join_code") {}
export class NotFoundError extends make("not_found") {}
export class MethodNotAllowedError extends make("method_not_allowed") {}
export class NotOpenError extends make("not_open") {}
export class AlreadyPairedError extends make("already_paired") {}
export class NoOfferError extends make("no_offer", true) {}
export class TooManyRestartsError extends make("too_many_restarts") {}
export class ClosedError extends make("closed") {}
export class BodyTooLargeError extends make("body_too_large") {}
export class RateLimitedError extends make("rate_limited", true) {}
export class InternalError extends make("internal", true) {}
export class UnavailableError extends make("unavailable", true) {}
/** Server `409 too_many_candidates`, or the local cap (`local: true`) reached before any request. */
export class TooManyCandidatesError extends make("too_many_candidates") {
  local = false;
}

// Local errors (§8.2).
export class TransitionError extends RegistryError {
  constructor(message: string) { super("transition", message); }
}
export class SdpTooLargeError extends RegistryError {
  constructor(message: string) { super("sdp_too_large", message); }
}
export class CandidateTooLargeError extends RegistryError {
  constructor(message: string) { super("candidate_too_large", message); }
}
/** fetch() itself failed (offline, CORS refused, connection reset). */
export class NetworkError extends RegistryError {
  constructor(message = "Network request failed.") { super("network", message, { retryable: true }); }
}
export class TimeoutError extends RegistryError {
  constructor(message: string) { super("timeout", message); }
}

const BY_CODE: Record<ErrorCode, new (message?: string, opts?: Opts) => RegistryError> = {
  bad_request: BadRequestError,
  bad_sdp: BadSdpError,
  bad_candidate: BadCandidateError,
  forbidden: ForbiddenError,
  origin_not_allowed: OriginNotAllowedError,
  bad_join_code: BadJoinCodeError,
  not_found: NotFoundError,
  method_not_allowed: MethodNotAllowedError,
  not_open: NotOpenError,
  already_paired: AlreadyPairedError,
  no_offer: NoOfferError,
  too_many_candidates: TooManyCandidatesError,
  too_many_restarts: TooManyRestartsError,
  closed: ClosedError,
  body_too_large: BodyTooLargeError,
  rate_limited: RateLimitedError,
  internal: InternalError,
  unavailable: UnavailableError,
};

/**
 * Maps a non-2xx response to a typed error. `json` is the parsed body (or null);
 * `retryAfterHeader` the `Retry-After` header, used when the envelope has no retryAfterSec.
 * Unknown codes fall back on the status (5xx retryable), so a newer server never breaks us.
 */
export function errorFromResponse(status: number, json: unknown, retryAfterHeader: string | null): RegistryError {
  const env = parseErrorEnvelope(json);
  let retryAfterSec = env?.retryAfterSec;
  if (retryAfterSec === undefined && retryAfterHeader !== null) {
    const n = Number(retryAfterHeader);
    if (Number.isFinite(n) && n >= 0) retryAfterSec = n;
  }
  const opts: Opts = { status };
  if (retryAfterSec !== undefined) opts.retryAfterSec = retryAfterSec;
  // The server's message is safe by contract (§6), but we use our own: nothing from the wire is echoed.
  // BY_CODE has exactly the ErrorCode keys (typed Record), so it answers isErrorCode without ERROR_STATUS.
  if (env && Object.hasOwn(BY_CODE, env.code)) return new BY_CODE[env.code](undefined, opts);
  if (status === 429) return new RateLimitedError(undefined, opts);
  if (status >= 500) return new RegistryError("unknown", `Server error (${status}).`, { ...opts, retryable: true });
  return new RegistryError("unknown", `Unexpected response (${status}).`, opts);
}
