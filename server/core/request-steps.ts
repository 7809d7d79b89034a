/**
 * The steps requests share before and after the room runs (docs/protocol.md, Requests; Errors;
 * Limits): version header, capped body read, per-IP limits, the token's digest, the probe budget
 * on tokenless answers, and the long-poll hold gate.
 */
import type { Context } from "hono";
import { API_VERSION, BODY_FIELDS, HEADERS, LIMITS, normalizeRoomCode } from "../../src/protocol/index.ts";
import type { AppDeps } from "./app.ts";
import { decodeBody, isObject, isSimple, readBodyCapped } from "./body.ts";
import type { Sha256Hex } from "./crypto.ts";
import type { HoldGate } from "./limits-global.ts";
import { ipKey } from "./ip.ts";
import type { IpBucket } from "./ratelimit.ts";
import type { AppEnv, Responder } from "./respond.ts";
import type { BodyInput, RoomReply } from "./room.ts";

type Env = AppEnv;

/** Tokens longer than this cannot be ours (ours are 43 chars); they are not even hashed. */
const MAX_TOKEN_CHARS = 256;

export interface RequestSteps {
  prelude: (c: Context<Env>, bucket: IpBucket | null, method: "GET" | "POST") => Promise<Response | BodyInput>;
  /** The per-IP limit key of this request's client (see ip.ts). */
  keyOf: (c: Context) => string;
  tokenReply: (c: Context<Env>, r: RoomReply) => Promise<Response>;
  gateOf: (c: Context, asks?: boolean) => HoldGate | undefined;
  tokenHash: (c: Context, body?: BodyInput) => string | null | Promise<string>;
  /** Room code from the path; an unusable one is simply a room that does not exist. */
  codeOf: (c: Context) => string | null;
  notFound: (c: Context<Env>) => Response;
}

export function createRequestSteps(deps: AppDeps, sha: Sha256Hex, out: Responder): RequestSteps {
  const { config, limiter } = deps;
  const { fail, reply } = out;
  // (ext `fast`) CORS-simple POSTs: text/plain JSON bodies carrying the version and the token.
  const fast = config.features.includes("fast");

  /**
   * Version header, capped body read, per-IP limit: the steps every POST shares. (ext `fast`)
   * A CORS-simple POST (`text/plain`, no header) carries the version in its body (`"v": 1`),
   * checked as soon as the body is read, still before anything else happens.
   */
  async function prelude(
    c: Context<Env>,
    bucket: IpBucket | null,
    method: "GET" | "POST",
  ): Promise<Response | BodyInput> {
    let body: BodyInput = { kind: "none" };
    if (method === "POST") {
      const ver = c.req.header(HEADERS.version);
      if (ver === undefined && !(fast && isSimple(c.req.header("content-type"))))
        return fail(c, "forbidden", { message: `Missing ${HEADERS.version} header.` });
      if (ver !== undefined && ver.trim() !== String(API_VERSION))
        return fail(c, "bad_request", { message: `Unsupported ${HEADERS.version}.` });
      const read = await readBodyCapped(c.req.raw, LIMITS.bodyBytes);
      if (read === "too_large") {
        // The rest of the body is never read: tell the client not to reuse this connection
        // (Node then closes it after the answer; workerd ignores the header).
        return fail(c, "body_too_large", {}, { connectionClose: true });
      }
      c.set("reqBytes", read === "unreadable" ? 0 : read.byteLength);
      body = read === "unreadable" ? { kind: "invalid" } : decodeBody(read, c.req.header("content-type"), fast);
      if (ver === undefined) {
        const v = body.kind === "json" && isObject(body.value) ? body.value[BODY_FIELDS.version] : undefined;
        if (v === undefined)
          return fail(c, "forbidden", {
            message: `Missing ${HEADERS.version} header or "${BODY_FIELDS.version}" in the body.`,
          });
        if (v !== API_VERSION) return fail(c, "bad_request", { message: `Unsupported "${BODY_FIELDS.version}".` });
      }
    }
    if (bucket) {
      const limit =
        bucket === "create"
          ? config.limitCreatePerMin
          : bucket === "public"
            ? config.limitPublicPerMin
            : config.limitJoinPerMin;
      const r = await limiter.hit(bucket, keyOf(c), limit);
      if (!r.ok) return fail(c, "rate_limited", { retryAfterSec: r.retryAfterSec });
    }
    return body;
  }

  /** The per-IP limit key of this request's client (see ip.ts). */
  const keyOf = (c: Context) => ipKey(deps.clientIp(c), config.ipv6Prefix);

  /**
   * A token route's answer. One given without a valid token (unknown, closed, wrong token)
   * counts against the caller's probe budget; past it, every such answer is 429, so the
   * 403/404/410 difference cannot map live rooms faster than LIMIT_PROBE_PER_MIN.
   */
  async function tokenReply(c: Context<Env>, r: RoomReply): Promise<Response> {
    if (r.probe && config.limitProbePerMin > 0) {
      const l = await limiter.hit("probe", keyOf(c), config.limitProbePerMin);
      if (!l.ok) return fail(c, "rate_limited", { retryAfterSec: l.retryAfterSec });
    }
    return reply(c, r);
  }

  /** A long-poll's hold gate (Node), only for requests that ask to wait (in the query, or a `/watch` body's `wait`). */
  const gateOf = (c: Context, asks = c.req.query("wait") !== undefined) =>
    deps.holdGate && asks ? deps.holdGate(c, keyOf(c)) : undefined;

  /** The token's digest: from X-Access-Token, or (ext `fast`) from the body's `token` when there is no header. */
  function tokenHash(c: Context, body?: BodyInput): string | null | Promise<string> {
    let t = c.req.header(HEADERS.token);
    if (t === undefined && fast && body?.kind === "json" && isObject(body.value)) {
      const bt = body.value[BODY_FIELDS.token];
      if (typeof bt === "string") t = bt;
    }
    if (t === undefined || t === "") return null;
    if (t.length > MAX_TOKEN_CHARS) return "-"; // can never equal a digest
    return sha(t);
  }

  /** Room code from the path; an unusable one is simply a room that does not exist. */
  const codeOf = (c: Context) => normalizeRoomCode(c.req.param("code"));
  const notFound = (c: Context<Env>) => fail(c, "not_found");

  return { prelude, keyOf, tokenReply, gateOf, tokenHash, codeOf, notFound };
}
