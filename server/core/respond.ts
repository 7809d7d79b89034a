/**
 * Building the app's answers (docs/protocol.md, Response headers; Errors; Origin, CORS and
 * CSRF): every answer with all its headers at once, error envelopes, and a room's reply.
 */
import type { Context } from "hono";
import {
  ERROR_STATUS,
  HEADERS,
  errorEnvelope,
  utf8Length,
  type CloseReason,
  type ErrorCode,
} from "../../src/protocol/index.ts";
import type { RegistryConfig } from "./config.ts";
import type { RoomReply } from "./room.ts";

/** Per-request variables the app keeps on Hono's context. */
export type AppEnv = { Variables: { route: string; reqBytes: number; cors: boolean } };
type Env = AppEnv;

/** Headers a page may read (CORS Expose-Headers). */
export const EXPOSE_HEADERS = [HEADERS.features, "Retry-After", "ETag"];

/** Responses built complete by the app (all response and CORS headers in place). */
const complete = new WeakSet<Response>();
const featuresKey = HEADERS.features.toLowerCase();

function statusOf(code: ErrorCode) {
  return ERROR_STATUS[code];
}

export interface Responder {
  respond: (
    c: Context<Env>,
    status: number,
    text: string | null,
    extra?: { allow?: string; connectionClose?: boolean; etag?: string; retryAfter?: string },
  ) => Response;
  fail: (
    c: Context<Env>,
    code: ErrorCode,
    extra?: { message?: string; retryAfterSec?: number; closeReason?: CloseReason },
    more?: { allow?: string; connectionClose?: boolean },
  ) => Response;
  reply: (c: Context<Env>, r: RoomReply) => Response;
  /** Whether `res` was built here (all response and CORS headers already in place). */
  isComplete: (res: Response) => boolean;
  /** The X-Registry-Features value. */
  featuresHeader: string;
}

export function createResponder(config: RegistryConfig): Responder {
  const featuresHeader = config.features.join(", ");
  const exposeHeaders = EXPOSE_HEADERS.join(",");

  /**
   * Every answer of the app is built here, with all its headers at once in one plain record:
   * the response headers, and past the CORS step the CORS headers Hono's cors() would add
   * (Access-Control-Allow-Origin when there is an Origin, Expose-Headers, Vary: Origin).
   * Adding them one by one to a finished Response (Hono's c.res.headers / c.header) made
   * Hono and @hono/node-server copy the Response and its Headers several times per request.
   * Keys are lowercase and in sorted order, as a Headers object would list them.
   */
  const respond = (
    c: Context<Env>,
    status: number,
    text: string | null,
    extra?: { allow?: string; connectionClose?: boolean; etag?: string; retryAfter?: string },
  ): Response => {
    const h: Record<string, string> = {};
    if (c.get("cors")) {
      const origin = c.req.header("origin");
      if (origin) h["access-control-allow-origin"] = config.allowedOrigins.any ? "*" : origin;
      h["access-control-expose-headers"] = exposeHeaders;
    }
    if (extra?.allow !== undefined) h["allow"] = extra.allow;
    h["cache-control"] = "no-store";
    if (extra?.connectionClose) h["connection"] = "close";
    if (text !== null) h["content-type"] = "application/json";
    if (extra?.etag !== undefined) h["etag"] = extra.etag;
    if (extra?.retryAfter !== undefined) h["retry-after"] = extra.retryAfter;
    if (c.get("cors")) h["vary"] = "Origin";
    h["x-content-type-options"] = "nosniff";
    h[featuresKey] = featuresHeader;
    // Last, spelled as Hono/node-server wrote it before, so the bytes on the wire are unchanged
    // (not on HEAD, whose answer has no body).
    if (text !== null && c.req.method !== "HEAD")
      h[c.get("cors") ? "content-length" : "Content-Length"] = String(utf8Length(text));
    const res = new Response(text, { status, headers: h });
    complete.add(res);
    return res;
  };

  const fail = (
    c: Context<Env>,
    code: ErrorCode,
    extra: { message?: string; retryAfterSec?: number; closeReason?: CloseReason } = {},
    more?: { allow?: string; connectionClose?: boolean },
  ) => {
    const env = errorEnvelope(code, extra);
    return respond(c, statusOf(code), JSON.stringify(env), {
      ...more,
      ...(extra.retryAfterSec !== undefined && { retryAfter: String(extra.retryAfterSec) }),
    });
  };

  function reply(c: Context<Env>, r: RoomReply): Response {
    if (r.error)
      return fail(c, r.error, {
        ...(r.message !== undefined && { message: r.message }),
        ...(r.retryAfterSec !== undefined && { retryAfterSec: r.retryAfterSec }),
        ...(r.closeReason !== undefined && { closeReason: r.closeReason }),
      });
    const text = r.status === 204 || r.status === 304 ? null : JSON.stringify(r.body ?? null);
    return respond(c, r.status, text, r.etag ? { etag: r.etag } : undefined);
  }

  return { respond, fail, reply, isComplete: (res) => complete.has(res), featuresHeader };
}
