/**
 * The Registry's HTTP surface (registry-api.md), one runtime-independent Hono app.
 *
 * `createApp(deps)` knows nothing about Node or Workers. A runtime supplies:
 * - `rooms`: a `RoomDirectory` (server/room-host.ts). Node: an in-process `RoomHost`.
 *   Workers: forward `call(code, request)` to the Durable Object named by `code`; requests
 *   and replies are plain JSON.
 * - `limiter`: the per-IP `RateLimiter` (server/ratelimit.ts); Workers may back it by a DO.
 * - `clientIp(c)`: the caller's IP (Node: socket, or X-Forwarded-For from a TRUST_PROXY
 *   peer; Workers: CF-Connecting-IP). Only used as a rate-limit key (grouped by ipKey:
 *   IPv6 by its /IPV6_PREFIX), never logged.
 * - `holdGate(c, key)`: optional (Node): per-IP and total ceilings on held long-polls.
 * - `log(line)`: one JSON line per request (§9), `now`, `randomBytes` (tests may inject).
 * - `sha256`: optional SHA-256 hex (default WebCrypto, async); Node passes a synchronous one.
 *
 * Order of checks (§6), each the first to fail answers:
 *   origin (403 origin_not_allowed, readable; preflights pass; not GET /health) → route and method (404/405)
 *   → X-Registry-Version on POST (403 missing / 400 other) → body size (413, read with a cap)
 *   → per-IP limits (429) → [in the room: exists 404 → not closed 410 → token/role 403
 *   → per-room/per-token limits 429 → body shape 400 → state 409]. A token route's answer
 *   given without a valid token (404/410/403) then counts against the client's
 *   LIMIT_PROBE_PER_MIN; past it the answer is 429 instead (no existence oracle).
 * The body is read (capped) and tentatively decoded before the room runs, but a malformed
 * body is only reported at the "body shape" step, so e.g. bad JSON with a wrong token is 403.
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import * as v from "valibot";
import {
  API_VERSION,
  BODY_FIELDS,
  ERROR_STATUS,
  HEADERS,
  LIMITS,
  checkUserName,
  normalizeUserName,
  errorEnvelope,
  utf8Length,
  normalizeJoinCode,
  normalizeRoomCode,
  randomCrockford,
  ROOM_CODE_LENGTH,
  JOIN_CODE_LENGTH,
  checkSdp,
  type ErrorCode,
} from "../../src/protocol/index.ts";
import { isOriginAllowed, type RegistryConfig } from "./config.ts";
import { newToken, randomBytes as cryptoRandomBytes, sha256Hex, type RandomBytes, type Sha256Hex } from "./crypto.ts";
import type { RateLimiter, IpBucket } from "./ratelimit.ts";
import { ipKey } from "./ip.ts";
import type { HoldGate } from "./limits-global.ts";
import type { RoomDirectory } from "./room-host.ts";
import type { BodyInput, RoomReply, RoomRequest } from "./room.ts";

export interface AppDeps {
  config: RegistryConfig;
  rooms: RoomDirectory;
  limiter: RateLimiter;
  clientIp: (c: Context) => string | undefined;
  holdGate?: (c: Context, key: string) => HoldGate | undefined;
  log?: (line: string) => void;
  now?: () => number;
  randomBytes?: RandomBytes;
  sha256?: Sha256Hex;
}

type Env = { Variables: { route: string; reqBytes: number; cors: boolean } };

/** Tokens longer than this cannot be ours (ours are 43 chars); they are not even hashed. */
const MAX_TOKEN_CHARS = 256;

// Body shapes checked here (the room checks the rest, in §6 order, from the same protocol module).
const CreateBody = v.object({ hostUserName: v.string() });

export function createApp(deps: AppDeps) {
  const { config, rooms, limiter } = deps;
  const now = deps.now ?? Date.now;
  const rand = deps.randomBytes ?? cryptoRandomBytes;
  const sha = deps.sha256 ?? sha256Hex;
  const log = deps.log ?? (() => {});
  const featuresHeader = config.features.join(", ");
  // (ext `fast`) CORS-simple POSTs: text/plain JSON bodies carrying the version and the token.
  const fast = config.features.includes("fast");
  const app = new Hono<Env>();

  /**
   * Every answer of the app is built here, with all its headers at once in one plain record:
   * the §1 headers, and past the CORS step the CORS headers Hono's cors() would add
   * (Access-Control-Allow-Origin when there is an Origin, Expose-Headers, Vary: Origin).
   * Adding them one by one to a finished Response (Hono's c.res.headers / c.header) made
   * Hono and @hono/node-server copy the Response and its Headers several times per request.
   * Keys are lowercase and in sorted order, as a Headers object would list them.
   */
  const respond = (c: Context<Env>, status: number, text: string | null, extra?: { allow?: string; connectionClose?: boolean; etag?: string; retryAfter?: string }): Response => {
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
    if (text !== null && c.req.method !== "HEAD") h[c.get("cors") ? "content-length" : "Content-Length"] = String(utf8Length(text));
    const res = new Response(text, { status, headers: h });
    complete.add(res);
    return res;
  };

  const fail = (c: Context<Env>, code: ErrorCode, extra: { message?: string; retryAfterSec?: number } = {}, more?: { allow?: string; connectionClose?: boolean }) => {
    const env = errorEnvelope(code, extra);
    return respond(c, statusOf(code), JSON.stringify(env), { ...more, ...(extra.retryAfterSec !== undefined && { retryAfter: String(extra.retryAfterSec) }) });
  };

  // CORS preflights (answered 204 by Hono's cors(), which never calls next for OPTIONS).
  const preflight = cors({
    origin: (origin) => (origin ? (config.allowedOrigins.any ? "*" : origin) : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    // §7's list plus If-None-Match: a room long-poll keeps one URL (cursor in the header), so one cached preflight serves every read.
    allowHeaders: ["Content-Type", HEADERS.token, HEADERS.version, "If-None-Match"],
    exposeHeaders: [HEADERS.features, "Retry-After", "ETag"],
    maxAge: 600,
  });
  const exposeHeaders = [HEADERS.features, "Retry-After", "ETag"].join(",");

  // 1. The §9 log line and §1 headers on every response (errors, preflights, 304s); then, in
  //    order: 2. origin (§7), refused before anything else (preflights pass, see below), GET /health
  //    exempt; 3. CORS: preflights answer 204 here, every other answer carries CORS headers.
  //    One middleware layer, not three: each layer is a Promise hop per request.
  app.use("*", async (c, next) => {
    const t0 = now();
    c.set("route", "unmatched");
    c.set("reqBytes", 0);
    c.set("cors", false);
    const origin = c.req.header("origin");
    const isHealth = origin !== undefined && c.req.path === "/health" && (c.req.method === "GET" || c.req.method === "HEAD");
    if (origin !== undefined && !isHealth && !isOriginAllowed(origin, config.allowedOrigins)) {
      // Refused before anything else, but readably (docs/protocol.md, Origins): the refusal
      // carries CORS headers for that origin and a preflight passes, so the page learns
      // `origin_not_allowed` instead of an opaque network error. Nothing is done for it.
      c.set("cors", true);
      if (c.req.method === "OPTIONS") {
        const res = await preflight(c, next);
        if (res) c.res = res;
      } else c.res = fail(c, "origin_not_allowed");
    } else if (c.req.method === "OPTIONS") {
      const res = await preflight(c, next);
      if (res) c.res = res;
    } else {
      c.set("cors", true);
      await next();
    }
    const res = c.res;
    // Answers built by respond() already carry them; anything else (preflights) gets them here.
    if (!complete.has(res)) {
      res.headers.set(HEADERS.features, featuresHeader);
      res.headers.set("Cache-Control", "no-store");
      res.headers.set("X-Content-Type-Options", "nosniff");
    }
    // Only the method, the route pattern (never the code), status, latency and sizes.
    const method = /^[A-Z]{1,16}$/.test(c.req.method) ? c.req.method : "OTHER";
    log(JSON.stringify({ t: isoTime(now()), method, route: c.get("route"), status: res.status, ms: now() - t0, bytes: c.get("reqBytes") }));
  });

  /**
   * Version header, capped body read, per-IP limit: the steps every POST shares. (ext `fast`)
   * A CORS-simple POST (`text/plain`, no header) carries the version in its body (`"v": 1`),
   * checked as soon as the body is read, still before anything else happens.
   */
  async function prelude(c: Context<Env>, bucket: IpBucket | null, method: "GET" | "POST"): Promise<Response | BodyInput> {
    let body: BodyInput = { kind: "none" };
    if (method === "POST") {
      const ver = c.req.header(HEADERS.version);
      if (ver === undefined && !(fast && isSimple(c.req.header("content-type")))) return fail(c, "forbidden", { message: `Missing ${HEADERS.version} header.` });
      if (ver !== undefined && ver.trim() !== String(API_VERSION)) return fail(c, "bad_request", { message: `Unsupported ${HEADERS.version}.` });
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
        if (v === undefined) return fail(c, "forbidden", { message: `Missing ${HEADERS.version} header or "${BODY_FIELDS.version}" in the body.` });
        if (v !== API_VERSION) return fail(c, "bad_request", { message: `Unsupported "${BODY_FIELDS.version}".` });
      }
    }
    if (bucket) {
      const limit = bucket === "create" ? config.limitCreatePerMin : bucket === "public" ? config.limitPublicPerMin : config.limitJoinPerMin;
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
  const gateOf = (c: Context, asks = c.req.query("wait") !== undefined) => (deps.holdGate && asks ? deps.holdGate(c, keyOf(c)) : undefined);

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

  function reply(c: Context<Env>, r: RoomReply): Response {
    if (r.error) return fail(c, r.error, { ...(r.message !== undefined && { message: r.message }), ...(r.retryAfterSec !== undefined && { retryAfterSec: r.retryAfterSec }) });
    const text = r.status === 204 || r.status === 304 ? null : JSON.stringify(r.body ?? null);
    return respond(c, r.status, text, r.etag ? { etag: r.etag } : undefined);
  }

  /** Room code from the path; an unusable one is simply a room that does not exist. */
  const codeOf = (c: Context) => normalizeRoomCode(c.req.param("code"));
  const notFound = (c: Context<Env>) => fail(c, "not_found");

  // ---- routes ------------------------------------------------------------------------

  app.get("/", (c) => {
    c.set("route", "/");
    return respond(c, 200, JSON.stringify({ name: "registry", apiVersion: API_VERSION, features: config.features }));
  });

  app.get("/health", (c) => {
    c.set("route", "/health");
    return respond(c, 200, JSON.stringify({ ok: true }));
  });

  app.post("/rooms", async (c) => {
    c.set("route", "/rooms");
    const pre = await prelude(c, "create", "POST");
    if (pre instanceof Response) return pre;
    if (pre.kind !== "json") return fail(c, "bad_request");
    const parsed = v.safeParse(CreateBody, pre.value);
    if (!parsed.success) return fail(c, "bad_request", { message: "hostUserName must be a string." });
    const why = checkUserName(parsed.output.hostUserName);
    if (why) return fail(c, "bad_request", { message: `hostUserName: ${why}.` });
    const hostUserName = normalizeUserName(parsed.output.hostUserName);
    // (ext `fast`) The host's offer may come with the room (without the feature it is an unknown field, ignored).
    let offer: { type: "offer"; sdp: string } | undefined;
    const o = fast ? (pre.value as Record<string, unknown>).offer : undefined;
    if (o !== undefined && o !== null) {
      if (!isObject(o)) return fail(c, "bad_request", { message: "offer must be { type, sdp }." });
      const bad = checkSdp(o.sdp, "offer", o.type);
      if (bad) return fail(c, "bad_sdp", { message: `Invalid offer: ${bad}.` });
      offer = { type: "offer", sdp: o.sdp as string };
    }
    const ownerToken = newToken(rand);
    const joinCode = randomCrockford(rand, JOIN_CODE_LENGTH);
    const [ownerTokenHash, joinCodeHash] = await Promise.all([sha(ownerToken), sha(joinCode)]);
    // 30 bits of room code: a collision is rare; retry a few times, then give up as 503.
    for (let attempt = 0; attempt < 8; attempt++) {
      const code = randomCrockford(rand, ROOM_CODE_LENGTH);
      const r = await rooms.call(code, { op: "create", code, hostUserName, ownerToken, ownerTokenHash, joinCode, joinCodeHash, offer });
      if (!r.exists) return reply(c, r);
    }
    return fail(c, "unavailable");
  });

  app.get("/rooms/:code/public", async (c) => {
    c.set("route", "/rooms/:code/public");
    const pre = await prelude(c, "public", "GET");
    if (pre instanceof Response) return pre;
    const code = codeOf(c);
    if (!code) return notFound(c);
    return reply(c, await rooms.call(code, { op: "public" }));
  });

  app.post("/rooms/:code/join", async (c) => {
    c.set("route", "/rooms/:code/join");
    const pre = await prelude(c, "join", "POST");
    if (pre instanceof Response) return pre;
    const code = codeOf(c);
    if (!code) return notFound(c);
    const typed = pre.kind === "json" && isObject(pre.value) ? pre.value.joinCode : undefined;
    const normalized = normalizeJoinCode(typed);
    const guestToken = newToken(rand);
    // The source of wrong codes is kept in the room as a digest of its ipKey, never the IP.
    const [joinCodeHash, guestTokenHash, source] = await Promise.all([normalized ? sha(normalized) : null, sha(guestToken), sha(`join-source:${keyOf(c)}`)]);
    return reply(c, await rooms.call(code, { op: "join", body: pre, joinCodeHash, guestToken, guestTokenHash, source: source.slice(0, 16) }));
  });

  app.get("/rooms/:code", async (c) => {
    c.set("route", "/rooms/:code");
    const code = codeOf(c);
    if (!code) return notFound(c);
    const req: RoomRequest = {
      op: "snapshot",
      tokenHash: await tokenHash(c),
      since: c.req.query("since"),
      wait: c.req.query("wait"),
      ifNoneMatch: c.req.header("if-none-match"),
    };
    return tokenReply(c, await rooms.call(code, req, () => c.req.raw.signal, gateOf(c)));
  });

  app.get("/rooms/:code/candidates", async (c) => {
    c.set("route", "/rooms/:code/candidates");
    const code = codeOf(c);
    if (!code) return notFound(c);
    const req: RoomRequest = { op: "candidates", tokenHash: await tokenHash(c), since: c.req.query("since"), wait: c.req.query("wait") };
    return tokenReply(c, await rooms.call(code, req, () => c.req.raw.signal, gateOf(c)));
  });

  // Token POSTs; (ext `fast`) `watch` is a long-poll too, so it may be held (and abandoned).
  const postOps = ["offer", "answer", "candidate", "close", ...(fast ? (["watch"] as const) : [])] as const;
  for (const op of postOps) {
    app.post(`/rooms/:code/${op}`, async (c) => {
      c.set("route", `/rooms/:code/${op}`);
      const pre = await prelude(c, null, "POST");
      if (pre instanceof Response) return pre;
      const code = codeOf(c);
      if (!code) return notFound(c);
      // (ext `fast`) A /watch asking to wait is a long-poll: held (and abandoned) as the GET ones are.
      const asks = op === "watch" && pre.kind === "json" && isObject(pre.value) && typeof pre.value.wait === "number" && pre.value.wait > 0;
      return tokenReply(c, await rooms.call(code, { op, tokenHash: await tokenHash(c, pre), body: pre }, () => c.req.raw.signal, gateOf(c, asks)));
    });
  }

  // Known routes with another method: 405 (after the origin check, before anything else).
  const known: Array<[string, string]> = [
    ["/", "GET"],
    ["/health", "GET"],
    ["/rooms", "POST"],
    ["/rooms/:code", "GET"],
    ["/rooms/:code/public", "GET"],
    ["/rooms/:code/candidates", "GET"],
    ...(["join", ...postOps].map((op) => [`/rooms/:code/${op}`, "POST"]) as Array<[string, string]>),
  ];
  for (const [path, allow] of known) {
    app.all(path, (c) => {
      c.set("route", path);
      return fail(c, "method_not_allowed", {}, { allow: allow === "GET" ? "GET, OPTIONS" : "POST, OPTIONS" });
    });
  }

  app.notFound((c) => fail(c, "not_found", { message: "No such route." }));
  // Reached only by a bug: never by bad input (that is answered above). Nothing of the
  // request goes into the answer or the log.
  app.onError((_e, c) => fail(c, "internal"));

  return app;
}

/** Responses built complete by the app (all §1 and CORS headers in place). */
const complete = new WeakSet<Response>();
const featuresKey = HEADERS.features.toLowerCase();

/** The log line's time, formatted once per millisecond (many requests share one). */
let isoMs = NaN;
let isoText = "";
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

function statusOf(code: ErrorCode) {
  return ERROR_STATUS[code];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Reads a request body with a hard cap, also when it arrives chunked without a
 * Content-Length: stops (and cancels the stream) as soon as the cap is passed.
 */
async function readBodyCapped(req: Request, cap: number): Promise<Uint8Array | "too_large" | "unreadable"> {
  const cl = req.headers.get("content-length");
  if (cl !== null && /^\d+$/.test(cl.trim())) {
    if (Number(cl.trim()) > cap) return "too_large";
    // A declared length within the cap: the HTTP layer delivers exactly that many bytes, so the
    // body can be read whole (on Node straight from the socket, without a web stream).
    try {
      return new Uint8Array(await req.arrayBuffer());
    } catch {
      return "unreadable";
    }
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        reader.cancel().catch(() => {});
        return "too_large";
      }
      chunks.push(value);
    }
  } catch {
    return "unreadable";
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const mediaTypeOf = (contentType: string | undefined) => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/** (ext `fast`) The simple form's media type, `text/plain`: a browser sends it without a preflight. */
const isSimple = (contentType: string | undefined) => mediaTypeOf(contentType) === "text/plain";

/**
 * JSON with `Content-Type: application/json` (or, ext `fast`, `text/plain`: a CORS-simple
 * request), valid UTF-8; anything else is unusable.
 */
function decodeBody(bytes: Uint8Array, contentType: string | undefined, simple: boolean): BodyInput {
  if (bytes.byteLength === 0) return { kind: "none" };
  if (mediaTypeOf(contentType) !== "application/json" && !(simple && isSimple(contentType))) return { kind: "invalid" };
  try {
    return { kind: "json", value: JSON.parse(strictUtf8.decode(bytes)) };
  } catch {
    return { kind: "invalid" };
  }
}
