/**
 * The Registry's HTTP surface (docs/protocol.md), one runtime-independent Hono app.
 *
 * `createApp(deps)` knows nothing about Node or Workers. A runtime supplies:
 * - `rooms`: a `RoomDirectory` (server/core/room-host.ts). Node: an in-process `RoomHost`.
 *   Workers: forward `call(code, request)` to the Durable Object named by `code`; requests
 *   and replies are plain JSON.
 * - `limiter`: the per-IP `RateLimiter` (server/core/ratelimit.ts); Workers may back it by a DO.
 * - `clientIp(c)`: the caller's IP (Node: socket, or X-Forwarded-For from a TRUST_PROXY
 *   peer; Workers: CF-Connecting-IP). Only used as a rate-limit key (grouped by ipKey:
 *   IPv6 by its /IPV6_PREFIX), never logged.
 * - `holdGate(c, key)`: optional (Node): per-IP and total ceilings on held long-polls.
 * - `log(line)`: one JSON line per request (docs/protocol.md, Logging), `now`, `randomBytes` (tests may inject).
 * - `sha256`: optional SHA-256 hex (default WebCrypto, async); Node passes a synchronous one.
 * - `fetch`: what the ICE minter calls Cloudflare's TURN API with (default the global fetch).
 *
 * Order of checks (docs/protocol.md, Errors), each the first to fail answers:
 *   origin (403 origin_not_allowed, readable; preflights pass; not GET /health) → route and method (404/405)
 *   → X-Registry-Version on POST (403 missing / 400 other) → body size (413, read with a cap)
 *   → per-IP limits (429) → [in the room: exists 404 → not closed 410 → token/role 403
 *   → per-room/per-token limits 429 → body shape 400 → state 409]. A token route's answer
 *   given without a valid token (404/410/403) then counts against the client's
 *   LIMIT_PROBE_PER_MIN; past it the answer is 429 instead (no existence oracle).
 * The body is read (capped) and tentatively decoded before the room runs, but a malformed
 * body is only reported at the "body shape" step, so e.g. bad JSON with a wrong token is 403.
 *
 * Split by job: respond.ts (answers and their headers), body.ts (the capped body read),
 * request-steps.ts (the steps requests share), routes-rooms.ts (the routes); this file builds
 * the app and its middleware, in order.
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { HEADERS } from "../../src/protocol/index.ts";
import { isOriginAllowed, type RegistryConfig } from "./config.ts";
import { randomBytes as cryptoRandomBytes, sha256Hex, type RandomBytes, type Sha256Hex } from "./crypto.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { HoldGate } from "./limits-global.ts";
import type { RoomDirectory } from "./room-host.ts";
import { createIceMinter, type FetchLike } from "./ice-servers.ts";
import { createRequestSteps } from "./request-steps.ts";
import { createResponder, EXPOSE_HEADERS, type AppEnv } from "./respond.ts";
import { registerRoutes } from "./routes-rooms.ts";

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
  fetch?: FetchLike;
}

type Env = AppEnv;

export function createApp(deps: AppDeps) {
  const { config, rooms } = deps;
  const now = deps.now ?? Date.now;
  const rand = deps.randomBytes ?? cryptoRandomBytes;
  const sha = deps.sha256 ?? sha256Hex;
  const log = deps.log ?? (() => {});
  const minter = config.features.includes("ice")
    ? createIceMinter(config.ice, { now, randomBytes: rand, log, ...(deps.fetch && { fetch: deps.fetch }) })
    : null;
  const out = createResponder(config);
  const { fail, isComplete, featuresHeader } = out;
  const app = new Hono<Env>();

  // CORS preflights (answered 204 by Hono's cors(), which never calls next for OPTIONS).
  const preflight = cors({
    origin: (origin) => (origin ? (config.allowedOrigins.any ? "*" : origin) : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    // The request headers of docs/protocol.md (Origin, CORS and CSRF) plus If-None-Match: a room
    // long-poll keeps one URL (cursor in the header), so one cached preflight serves every read.
    allowHeaders: ["Content-Type", HEADERS.token, HEADERS.version, "If-None-Match"],
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
  });

  // 1. The log line and the response headers (docs/protocol.md) on every response (errors, preflights, 304s); then, in
  //    order: 2. origin (Origin, CORS and CSRF), refused before anything else (preflights pass, see below), GET /health
  //    exempt; 3. CORS: preflights answer 204 here, every other answer carries CORS headers.
  //    One middleware layer, not three: each layer is a Promise hop per request.
  app.use("*", async (c, next) => {
    const t0 = now();
    c.set("route", "unmatched");
    c.set("reqBytes", 0);
    c.set("cors", false);
    const origin = c.req.header("origin");
    const isHealth =
      origin !== undefined && c.req.path === "/health" && (c.req.method === "GET" || c.req.method === "HEAD");
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
    if (!isComplete(res)) {
      res.headers.set(HEADERS.features, featuresHeader);
      res.headers.set("Cache-Control", "no-store");
      res.headers.set("X-Content-Type-Options", "nosniff");
    }
    // Only the method, the route pattern (never the code), status, latency and sizes.
    const method = /^[A-Z]{1,16}$/.test(c.req.method) ? c.req.method : "OTHER";
    log(
      JSON.stringify({
        t: isoTime(now()),
        method,
        route: c.get("route"),
        status: res.status,
        ms: now() - t0,
        bytes: c.get("reqBytes"),
      }),
    );
  });

  registerRoutes(app, { config, rooms, rand, sha, minter, out, steps: createRequestSteps(deps, sha, out) });

  app.notFound((c) => fail(c, "not_found", { message: "No such route." }));
  // Reached only by a bug: never by bad input (that is answered above). Nothing of the
  // request goes into the answer or the log.
  app.onError((_e, c) => fail(c, "internal"));

  return app;
}

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
