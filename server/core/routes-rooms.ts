/**
 * The app's routes (docs/protocol.md, Endpoints; ICE servers; Fast), each in the check order
 * of app.ts's header: the shared steps first, then the room, then the answer. Known routes
 * with another method answer 405.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import {
  API_VERSION,
  JOIN_CODE_LENGTH,
  ROOM_CODE_LENGTH,
  checkSdp,
  checkUserName,
  normalizeJoinCode,
  normalizeUserName,
  randomCrockford,
} from "../../src/protocol/index.ts";
import { isObject } from "./body.ts";
import type { RegistryConfig } from "./config.ts";
import { newToken, type RandomBytes, type Sha256Hex } from "./crypto.ts";
import type { IceMinter } from "./ice-servers.ts";
import type { RequestSteps } from "./request-steps.ts";
import type { AppEnv, Responder } from "./respond.ts";
import type { RoomDirectory } from "./room-host.ts";
import type { RoomReply, RoomRequest } from "./room.ts";

// Body shapes checked here (the room checks the rest, in the Errors order, from the same protocol module).
const CreateBody = v.object({ hostUserName: v.string() });

export interface RouteKit {
  config: RegistryConfig;
  rooms: RoomDirectory;
  rand: RandomBytes;
  sha: Sha256Hex;
  /** (ext `ice`) Mints a player's ICE servers; null when the feature is off. */
  minter: IceMinter | null;
  out: Responder;
  steps: RequestSteps;
}

export function registerRoutes(app: Hono<AppEnv>, kit: RouteKit): void {
  const { config, rooms, rand, sha, minter } = kit;
  const { respond, fail, reply } = kit.out;
  const { prelude, tokenReply, gateOf, tokenHash, codeOf, notFound, keyOf } = kit.steps;
  // (ext `fast`) CORS-simple POSTs, and the /watch route.
  const fast = config.features.includes("fast");
  /**
   * Starts minting a player's ICE servers (in parallel with the room operation, so create and
   * join take no longer). Never rejects: a bug in minting leaves the answer without them and
   * the client on its own defaults. Null when the feature is off.
   */
  const mint = () => (minter ? minter().catch(() => null) : null);
  /** A successful room answer with the player's ICE servers added to its body. */
  const withIce = async (r: RoomReply, grant: ReturnType<typeof mint>): Promise<RoomReply> => {
    if (!grant || r.error || r.exists) return r;
    const g = await grant;
    return g ? { ...r, body: { ...(r.body as object), iceServers: g.iceServers, iceExpiresAt: g.iceExpiresAt } } : r;
  };

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
    const grant = mint();
    const [ownerTokenHash, joinCodeHash] = await Promise.all([sha(ownerToken), sha(joinCode)]);
    // 30 bits of room code: a collision is rare; retry a few times, then give up as 503.
    for (let attempt = 0; attempt < 8; attempt++) {
      const code = randomCrockford(rand, ROOM_CODE_LENGTH);
      const r = await rooms.call(code, {
        op: "create",
        code,
        hostUserName,
        ownerToken,
        ownerTokenHash,
        joinCode,
        joinCodeHash,
        offer,
      });
      if (!r.exists) return reply(c, await withIce(r, grant));
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
    // Minted only for a join code that has the right form: a wrong one never reaches Cloudflare's API.
    const grant = normalized ? mint() : null;
    // The source of wrong codes is kept in the room as a digest of its ipKey, never the IP.
    const [joinCodeHash, guestTokenHash, source] = await Promise.all([
      normalized ? sha(normalized) : null,
      sha(guestToken),
      sha(`join-source:${keyOf(c)}`),
    ]);
    return reply(
      c,
      await withIce(
        await rooms.call(code, {
          op: "join",
          body: pre,
          joinCodeHash,
          guestToken,
          guestTokenHash,
          source: source.slice(0, 16),
        }),
        grant,
      ),
    );
  });

  // (ext `ice`) Fresh ICE servers for a token holder, e.g. before an ICE restart once the
  // first credentials have expired. The room authorises and counts (per-token limit); the
  // credentials are minted here. Without the feature the route does not exist.
  app.post("/rooms/:code/ice-servers", async (c) => {
    c.set("route", "/rooms/:code/ice-servers");
    if (!minter) return fail(c, "not_found", { message: "No such route." });
    const pre = await prelude(c, null, "POST");
    if (pre instanceof Response) return pre;
    const code = codeOf(c);
    if (!code) return notFound(c);
    const r = await rooms.call(code, { op: "ice", tokenHash: await tokenHash(c, pre) });
    if (r.error) return tokenReply(c, r);
    const g = await mint();
    if (!g) return fail(c, "internal");
    return respond(c, 200, JSON.stringify({ iceServers: g.iceServers, iceExpiresAt: g.iceExpiresAt }));
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
    const req: RoomRequest = {
      op: "candidates",
      tokenHash: await tokenHash(c),
      since: c.req.query("since"),
      wait: c.req.query("wait"),
    };
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
      const asks =
        op === "watch" &&
        pre.kind === "json" &&
        isObject(pre.value) &&
        typeof pre.value.wait === "number" &&
        pre.value.wait > 0;
      return tokenReply(
        c,
        await rooms.call(
          code,
          { op, tokenHash: await tokenHash(c, pre), body: pre },
          () => c.req.raw.signal,
          gateOf(c, asks),
        ),
      );
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
    ...(minter ? ([["/rooms/:code/ice-servers", "POST"]] as Array<[string, string]>) : []),
  ];
  for (const [path, allow] of known) {
    app.all(path, (c) => {
      c.set("route", path);
      return fail(c, "method_not_allowed", {}, { allow: allow === "GET" ? "GET, OPTIONS" : "POST, OPTIONS" });
    });
  }
}
