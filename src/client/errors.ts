/**
 * Typed errors: one class per server code (docs/protocol.md, Errors), plus local validation and
 * transition errors. Every error has `code`, `retryable` and (for 429) `retryAfterSec`.
 * Messages never contain tokens, join codes, SDP or candidate strings.
 */
import { ERRORS, parseErrorEnvelope, retryOf, type ErrorCode } from "../protocol/index.ts";

export type ClientErrorCode =
  | ErrorCode
  | "transition"
  | "sdp_too_large"
  | "candidate_too_large"
  | "network"
  | "timeout"
  | "channel_mismatch"
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
const make = (code: ErrorCode) =>
  class extends RegistryError {
    /** The server code this class stands for (errorFromResponse finds the class by it). */
    static readonly code = code;
    constructor(message: string = ERRORS[code][2], opts: Opts = {}) {
      // Retryability comes from the protocol's one table.
      super(code, message, { retryable: ERRORS[code][1] > 0, ...opts });
    }
  };

// Server codes (docs/protocol.md, Errors).
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
export class NoOfferError extends make("no_offer") {}
export class TooManyRestartsError extends make("too_many_restarts") {}
export class ClosedError extends make("closed") {}
export class BodyTooLargeError extends make("body_too_large") {}
export class RateLimitedError extends make("rate_limited") {}
export class InternalError extends make("internal") {}
export class UnavailableError extends make("unavailable") {}
/** Server `409 too_many_candidates`, or the local cap (`local: true`) reached before any request. */
export class TooManyCandidatesError extends make("too_many_candidates") {
  local = false;
}

// Local errors.
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
/**
 * The other side's reliable DataChannel is not labelled as this side expects (docs/protocol.md,
 * DataChannels): the two pages cannot talk, so say so instead of waiting forever.
 */
export class ChannelMismatchError extends RegistryError {
  constructor(message = "The other side's data channel has another name: the pages cannot talk.") {
    super("channel_mismatch", message);
  }
}

/** Every server code's class (each one's static `code` says which). */
const BY_CODE = [
  BadRequestError, BadSdpError, BadCandidateError, ForbiddenError, OriginNotAllowedError, BadJoinCodeError, NotFoundError, MethodNotAllowedError, NotOpenError,
  AlreadyPairedError, NoOfferError, TooManyCandidatesError, TooManyRestartsError, ClosedError, BodyTooLargeError, RateLimitedError,
  InternalError, UnavailableError,
];

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
  // The server's message is safe by contract (docs/protocol.md, Errors), but we use our own: nothing from the wire is echoed.
  const Known = BY_CODE.find((c) => c.code === env?.code);
  if (Known) return new Known(undefined, opts);
  if (status === 429) return new RateLimitedError(undefined, opts);
  const retryable = retryOf("", status) > 0;
  return new RegistryError("unknown", retryable ? `Server error (${status}).` : `Unexpected response (${status}).`, { ...opts, retryable });
}
