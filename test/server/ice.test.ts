/**
 * Feature `ice` (issue #10): create and join carry the player's ICE servers, a token holder
 * gets fresh ones from POST /rooms/:code/ice-servers (rate limited per token), strangers get
 * none, TURN REST credentials are well-formed and verifiable, Cloudflare's TURN API is called
 * with its token (a local fake here, reached from Node and from workerd alike) and its failure
 * falls back to STUN, and no secret ever reaches a log line.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { startServer, type TestServer } from "./harness.ts";
import { SDP_OFFER, createRoom, expectError, expectStatus, get, joinRoom, post, tok, type Res } from "./helpers.ts";
import { DEFAULT_STUN_URLS, FEATURES } from "../../src/protocol/index.ts";

const SECRET = "coturn-shared-secret-0123456789";
const TURN_URLS = "turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349?transport=tcp";

const servers: TestServer[] = [];
async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const iceOf = (base: string, code: string, token: string | null, headers: Record<string, string> = {}) =>
  post(base, `/rooms/${code}/ice-servers`, "", { ...(token !== null && tok(token)), ...headers });

function expectStunOnly(body: any, urls: readonly string[] = DEFAULT_STUN_URLS) {
  assert.deepEqual(body.iceServers, urls.length ? [{ urls: [...urls] }] : []);
  assert.equal(body.iceExpiresAt, null);
}

/** A TURN entry from a coturn-configured Registry: username `<expiry>:<id>`, credential = HMAC. */
function expectTurnRest(body: any, ttlSec: number, t0: number, t1: number): { username: string; credential: string } {
  const turn = body.iceServers.find((s: any) => s.username !== undefined);
  assert.ok(turn, JSON.stringify(body.iceServers));
  assert.deepEqual(turn.urls, TURN_URLS.split(","));
  const m = /^(\d+):([A-Za-z0-9_-]{8,})$/.exec(turn.username);
  assert.ok(m, turn.username);
  const expiry = Number(m[1]);
  assert.ok(
    expiry >= Math.floor(t0 / 1000) + ttlSec && expiry <= Math.floor(t1 / 1000) + ttlSec,
    `expiry ${expiry} not now + ${ttlSec}`,
  );
  assert.equal(body.iceExpiresAt, expiry * 1000);
  assert.equal(turn.credential, createHmac("sha1", SECRET).update(turn.username).digest("base64"));
  // The STUN defaults come first.
  assert.deepEqual(body.iceServers[0], { urls: [...DEFAULT_STUN_URLS] });
  return turn;
}

test("defaults: `ice` is advertised; create, join and the endpoint give the public STUN servers", async () => {
  const s = await start();
  const root = await get(s.url, "/");
  assert.deepEqual(root.body.features, [...FEATURES]);
  assert.match(root.headers.get("x-registry-features") ?? "", /(^|, )ice($|,)/);
  const created = await post(s.url, "/rooms", { hostUserName: "Alice" });
  expectStatus(created, 201);
  expectStunOnly(created.body);
  const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
    joinCode: created.body.joinCode,
    guestUserName: "Bob",
  });
  expectStatus(joined, 200);
  expectStunOnly(joined.body);
  for (const t of [created.body.ownerToken, joined.body.guestToken]) {
    const r = await iceOf(s.url, created.body.code, t);
    expectStatus(r, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ["iceExpiresAt", "iceServers"]);
    expectStunOnly(r.body);
  }
});

test("STUN_URLS: a custom list, and empty means none", async () => {
  const s1 = await start({ STUN_URLS: "stun:stun.example.test:3478, stuns:stun.example.test" });
  expectStunOnly((await post(s1.url, "/rooms", { hostUserName: "a" })).body, [
    "stun:stun.example.test:3478",
    "stuns:stun.example.test",
  ]);
  const s2 = await start({ STUN_URLS: "" });
  expectStunOnly((await post(s2.url, "/rooms", { hostUserName: "a" })).body, []);
});

test("coturn REST credentials: form, HMAC, expiry = now + TURN_TTL_SEC, one per player and per call", async () => {
  const s = await start({ TURN_URLS, TURN_SECRET: SECRET, TURN_TTL_SEC: "600" });
  let t0 = Date.now();
  const created = await post(s.url, "/rooms", { hostUserName: "a" });
  const host = expectTurnRest(created.body, 600, t0, Date.now());
  t0 = Date.now();
  const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
    joinCode: created.body.joinCode,
    guestUserName: "b",
  });
  const guest = expectTurnRest(joined.body, 600, t0, Date.now());
  t0 = Date.now();
  const fresh = await iceOf(s.url, created.body.code, created.body.ownerToken);
  expectStatus(fresh, 200);
  const again = expectTurnRest(fresh.body, 600, t0, Date.now());
  assert.equal(new Set([host.username, guest.username, again.username]).size, 3, "every grant has its own username");
  // The secret itself is in no answer.
  for (const r of [created, joined, fresh]) assert.ok(!r.text.includes(SECRET));
});

test("no credentials without a valid room token; wrong join codes get none", async () => {
  const s = await start({ TURN_URLS, TURN_SECRET: SECRET });
  const room = await createRoom(s.url);
  const noTurn = (r: Res) => assert.ok(!r.text.includes("credential") && !r.text.includes("turn:"), r.text);
  for (const [r, status, code] of [
    [await iceOf(s.url, room.code, null), 403, "forbidden"],
    [await iceOf(s.url, room.code, "x".repeat(43)), 403, "forbidden"],
    [await iceOf(s.url, "ZZZZZZ", room.ownerToken), 404, "not_found"],
    [await post(s.url, `/rooms/${room.code}/join`, { joinCode: "00000000", guestUserName: "m" }), 403, "bad_join_code"],
    [
      await post(s.url, `/rooms/${room.code}/ice-servers`, "", { ...tok(room.ownerToken), "x-registry-version": "" }),
      400,
      "bad_request",
    ],
  ] as Array<[Res, number, string]>) {
    expectError(r, status, code);
    noTurn(r);
  }
  // GET is not the method; a closed room answers 410 to its own tokens too.
  expectError(await get(s.url, `/rooms/${room.code}/ice-servers`, tok(room.ownerToken)), 405, "method_not_allowed");
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, tok(room.ownerToken)), 204);
  const closed = await iceOf(s.url, room.code, room.ownerToken);
  expectError(closed, 410, "closed");
  noTurn(closed);
});

test("minting is rate limited per token (LIMIT_ICE_PER_MIN); the other player has its own budget", async () => {
  const s = await start({ TURN_URLS, TURN_SECRET: SECRET, LIMIT_ICE_PER_MIN: "3" });
  const room = await createRoom(s.url);
  const guest = await joinRoom(s.url, room);
  for (let i = 0; i < 3; i++) expectStatus(await iceOf(s.url, room.code, room.ownerToken), 200);
  const r = await iceOf(s.url, room.code, room.ownerToken);
  expectError(r, 429, "rate_limited");
  assert.ok(r.body.error.retryAfterSec >= 1 && r.body.error.retryAfterSec <= 60);
  assert.ok(!r.text.includes("credential"));
  expectStatus(await iceOf(s.url, room.code, guest), 200);
  // The room's other routes are not affected by the ICE budget.
  expectStatus(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)),
    204,
  );
});

test("feature off (REGISTRY_FEATURES without ice): no iceServers anywhere, the route does not exist", async () => {
  const s = await start({ REGISTRY_FEATURES: "longpoll,delta,batch,end,restart", TURN_URLS, TURN_SECRET: SECRET });
  assert.equal((await get(s.url, "/")).headers.get("x-registry-features"), "longpoll, delta, batch, end, restart");
  const created = await post(s.url, "/rooms", { hostUserName: "a" });
  assert.deepEqual(Object.keys(created.body).sort(), ["code", "expiresAt", "joinCode", "ownerToken"]);
  const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
    joinCode: created.body.joinCode,
    guestUserName: "b",
  });
  assert.deepEqual(Object.keys(joined.body).sort(), ["expiresAt", "guestToken"]);
  expectError(await iceOf(s.url, created.body.code, created.body.ownerToken), 404, "not_found");
  expectError(await get(s.url, `/rooms/${created.body.code}/ice-servers`), 404, "not_found");
});

// ---- Cloudflare's TURN API, faked on 127.0.0.1 --------------------------------------------

const CF_KEY = "key-0123abcd";
const CF_TOKEN = "cf-api-token-SECRET-4567";
const CF_TURN = {
  urls: [
    "turn:turn.cloudflare.test:3478?transport=udp",
    "turn:turn.cloudflare.test:53?transport=udp",
    "turns:turn.cloudflare.test:5349?transport=tcp",
  ],
  username: "cf-user-aaaa",
  credential: "cf-cred-bbbb",
};

interface Fake {
  base: string;
  seen: Array<{ path: string; auth: string | undefined; body: any }>;
  mode: "array" | "object" | "401" | "hang" | "garbage";
  close(): Promise<void>;
}

async function fakeCloudflare(): Promise<Fake> {
  const fake = { seen: [], mode: "array" } as unknown as Fake;
  const hanging = new Set<IncomingMessage>();
  const srv: Server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    req.on("end", () => {
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        /* recorded as null */
      }
      fake.seen.push({ path: req.url ?? "", auth: req.headers.authorization, body });
      const ok =
        req.method === "POST" &&
        req.url === `/v1/turn/keys/${CF_KEY}/credentials/generate-ice-servers` &&
        req.headers.authorization === `Bearer ${CF_TOKEN}`;
      if (!ok || fake.mode === "401")
        return void res.writeHead(401, { "content-type": "application/json" }).end('{"success":false}');
      if (fake.mode === "hang") return void hanging.add(req);
      if (fake.mode === "garbage")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"iceServers":[{"urls":"http://nope"}]}');
      const iceServers =
        fake.mode === "array"
          ? [{ urls: ["stun:stun.cloudflare.test:3478", "stun:stun.cloudflare.test:53"] }, CF_TURN]
          : CF_TURN;
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ iceServers }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  fake.base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  fake.close = () =>
    new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  return fake;
}

test("Cloudflare TURN: the Worker asks the key API with its bearer token; both answer shapes; port 53 dropped; STUN fallback", {
  timeout: 60_000,
}, async () => {
  const fake = await fakeCloudflare();
  try {
    const s = await start({
      CF_TURN_KEY_ID: CF_KEY,
      CF_TURN_API_TOKEN: CF_TOKEN,
      CF_TURN_API_BASE: fake.base,
      TURN_TTL_SEC: "7200",
    });
    const t0 = Date.now();
    const created = await post(s.url, "/rooms", { hostUserName: "a" });
    expectStatus(created, 201);
    assert.equal(fake.seen.length, 1);
    assert.deepEqual(fake.seen[0]!.body, { ttl: 7200 });
    assert.deepEqual(created.body.iceServers, [
      { urls: [...DEFAULT_STUN_URLS] },
      { urls: ["stun:stun.cloudflare.test:3478"] },
      { urls: [CF_TURN.urls[0], CF_TURN.urls[2]], username: CF_TURN.username, credential: CF_TURN.credential },
    ]);
    assert.ok(created.body.iceExpiresAt >= t0 + 7_200_000 && created.body.iceExpiresAt <= Date.now() + 7_200_000);

    fake.mode = "object";
    const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
      joinCode: created.body.joinCode,
      guestUserName: "b",
    });
    assert.deepEqual(joined.body.iceServers, [
      { urls: [...DEFAULT_STUN_URLS] },
      { urls: [CF_TURN.urls[0], CF_TURN.urls[2]], username: CF_TURN.username, credential: CF_TURN.credential },
    ]);
    const fresh = await iceOf(s.url, created.body.code, joined.body.guestToken);
    expectStatus(fresh, 200);
    assert.equal(fresh.body.iceServers[1].username, CF_TURN.username);

    // Failures: refused, nonsense, no answer in time. The player gets STUN only, at once or within the timeout.
    for (const mode of ["401", "garbage", "hang"] as const) {
      fake.mode = mode;
      const t = Date.now();
      const r = await iceOf(s.url, created.body.code, created.body.ownerToken, {});
      expectStatus(r, 200);
      expectStunOnly(r.body);
      assert.ok(Date.now() - t < 10_000, `${mode}: answered after ${Date.now() - t} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
    if (s.canCaptureLogs) {
      const logs = s.logs().join("\n");
      for (const reason of ["http_401", "bad_response", "timeout"])
        assert.match(logs, new RegExp(`"event":"ice_fallback","provider":"cloudflare","reason":"${reason}"`));
      for (const secret of [CF_TOKEN, CF_KEY, CF_TURN.credential, CF_TURN.username])
        assert.ok(!logs.includes(secret), `log contains ${secret}`);
    }
  } finally {
    await fake.close();
  }
});

test("a wrong API token gets STUN only (the fake checks the bearer token)", async () => {
  const fake = await fakeCloudflare();
  try {
    const s = await start({ CF_TURN_KEY_ID: CF_KEY, CF_TURN_API_TOKEN: "not-the-token", CF_TURN_API_BASE: fake.base });
    const r = await post(s.url, "/rooms", { hostUserName: "a" });
    expectStunOnly(r.body);
    assert.equal(fake.seen[0]?.auth, "Bearer not-the-token");
  } finally {
    await fake.close();
  }
});

test("secrets are never logged: TURN secret, minted credentials, tokens", async (t) => {
  const s = await start({ TURN_URLS, TURN_SECRET: SECRET });
  if (!s.canCaptureLogs) return void t.skip(`${s.runtime}: logs not capturable`);
  const created = await post(s.url, "/rooms", { hostUserName: "a" });
  const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
    joinCode: created.body.joinCode,
    guestUserName: "b",
  });
  const fresh = await iceOf(s.url, created.body.code, joined.body.guestToken);
  await iceOf(s.url, created.body.code, "wrong-token");
  await new Promise((r) => setTimeout(r, 100));
  const logs = s.logs().join("\n");
  assert.match(logs, /"route":"\/rooms\/:code\/ice-servers"/);
  const forbidden = [SECRET, created.body.ownerToken, joined.body.guestToken, "wrong-token"];
  for (const b of [created.body, joined.body, fresh.body])
    for (const sv of b.iceServers) if (sv.username) forbidden.push(sv.username, sv.credential);
  for (const f of forbidden) assert.ok(!logs.includes(f), `log contains ${f}`);
});

test("close reason connection_failed is kept and told to the other player on every 410 (held long-poll too); free text is not", async () => {
  const s = await start();
  const room = await createRoom(s.url);
  const guest = await joinRoom(s.url, room);
  // The guest waits on the room; the host gives up on connecting.
  const v = (await get(s.url, `/rooms/${room.code}`, tok(guest))).body.version;
  const held = get(s.url, `/rooms/${room.code}?since=${v}&wait=10`, tok(guest));
  await new Promise((r) => setTimeout(r, 200));
  expectStatus(
    await post(s.url, `/rooms/${room.code}/close`, { reason: "connection_failed" }, tok(room.ownerToken)),
    204,
  );
  for (const r of [
    await held,
    await get(s.url, `/rooms/${room.code}/candidates`, tok(guest)),
    await post(s.url, `/rooms/${room.code}/ice-servers`, "", tok(guest)),
  ]) {
    expectError(r, 410, "closed");
    assert.equal(r.body.error.closeReason, "connection_failed");
  }
  // Any other reason is free text: not kept, not told.
  const other = await createRoom(s.url);
  const g2 = await joinRoom(s.url, other);
  expectStatus(
    await post(s.url, `/rooms/${other.code}/close`, { reason: "connection_failed!" }, tok(other.ownerToken)),
    204,
  );
  const r = await get(s.url, `/rooms/${other.code}`, tok(g2));
  expectError(r, 410, "closed");
  assert.equal(r.body.error.closeReason, undefined);
  assert.ok(!r.text.includes("connection_failed"));
});
