/** §7 CORS and origin checks: default local allowlist, ALLOWED_ORIGINS list and `*`, preflights. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import { createRoom, expectError, expectStatus, get, post, req, tok } from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const ALLOWED_DEFAULT = [
  "http://localhost",
  "http://localhost:5173",
  "http://127.0.0.1:8080",
  "http://127.0.0.1",
  "http://[::1]:3000",
  "http://[::1]",
];
const REFUSED_DEFAULT = [
  "http://localhost.evil.example",
  "http://localhost.evil.example:80",
  "https://localhost",
  "https://127.0.0.1:8443",
  "http://127.0.0.1.nip.io",
  "http://127.0.0.1.nip.io:8080",
  "http://evil-localhost",
  "http://localhost:8080.evil.example",
  "http://user@localhost",
  "http://localhost/path",
  "http://127.0.0.2",
  "http://[::2]",
  "http://example.com",
  "null",
  "file://",
  "http://localhost:99999",
  "HTTP://LOCALHOST",
];

function preflight(url: string, origin: string, path = "/rooms") {
  return req(url + path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, x-registry-version, x-access-token",
    },
  });
}

function expectFeatureHeaders(r: { headers: Headers }) {
  assert.equal(r.headers.get("x-registry-features"), "longpoll, delta, batch, end, restart, fast, ice, offer-watch");
  assert.equal(r.headers.get("cache-control"), "no-store");
}

test("preflight from an allowed origin: 204, methods, headers, §1 headers", async () => {
  for (const origin of ALLOWED_DEFAULT) {
    const r = await preflight(s.url, origin);
    assert.equal(r.status, 204, origin);
    assert.equal(r.headers.get("access-control-allow-origin"), origin);
    const methods = r.headers
      .get("access-control-allow-methods")!
      .split(",")
      .map((x) => x.trim());
    assert.deepEqual(methods.sort(), ["GET", "OPTIONS", "POST"]);
    const headers = r.headers
      .get("access-control-allow-headers")!
      .split(",")
      .map((x) => x.trim().toLowerCase());
    // §7's list, plus If-None-Match (README.md, "Decisions"): the room long-poll's cursor header
    for (const h of ["content-type", "x-access-token", "x-registry-version", "if-none-match"])
      assert.ok(headers.includes(h), h);
    expectFeatureHeaders(r);
  }
  // Preflights to room routes too.
  assert.equal((await preflight(s.url, "http://localhost:5173", "/rooms/ABCDEF/offer")).status, 204);
});

test("actual responses to an allowed origin expose X-Registry-Features, Retry-After, ETag", async () => {
  const r = await post(s.url, "/rooms", { hostUserName: "a" }, { origin: "http://localhost:5173" });
  expectStatus(r, 201);
  assert.equal(r.headers.get("access-control-allow-origin"), "http://localhost:5173");
  const exposed = r.headers
    .get("access-control-expose-headers")!
    .split(",")
    .map((x) => x.trim().toLowerCase());
  for (const h of ["x-registry-features", "retry-after", "etag"]) assert.ok(exposed.includes(h), h);
  const snap = await get(s.url, `/rooms/${r.body.code}`, { ...tok(r.body.ownerToken), origin: "http://127.0.0.1:9" });
  expectStatus(snap, 200);
  assert.equal(snap.headers.get("access-control-allow-origin"), "http://127.0.0.1:9");
  // Errors to allowed origins carry CORS headers too, so the page can read the envelope.
  const e = await get(s.url, "/rooms/ZZZZZZ", { origin: "http://localhost" });
  expectError(e, 404, "not_found");
  assert.equal(e.headers.get("access-control-allow-origin"), "http://localhost");
});

test("default allowlist refuses look-alike and non-local origins with a readable 403 origin_not_allowed", async () => {
  for (const origin of REFUSED_DEFAULT) {
    // The preflight passes (it grants nothing) so the page can read the refusal that follows.
    const pf = await preflight(s.url, origin);
    assert.equal(pf.status, 204, origin);
    assert.equal(pf.headers.get("access-control-allow-origin"), origin);
    expectFeatureHeaders(pf);
    const r = await post(s.url, "/rooms", { hostUserName: "a" }, { origin });
    expectError(r, 403, "origin_not_allowed");
    assert.equal(r.headers.get("access-control-allow-origin"), origin, "the refusal is readable by that page");
    expectError(await get(s.url, "/", { origin }), 403, "origin_not_allowed");
    // Origin comes first: even an unknown route or a wrong method is 403 for it.
    expectError(await get(s.url, "/nowhere", { origin }), 403, "origin_not_allowed");
    expectError(await req(`${s.url}/rooms`, { method: "PUT", headers: { origin } }), 403, "origin_not_allowed");
  }
});

test("requests without Origin are allowed (non-browser clients)", async () => {
  const r = await post(s.url, "/rooms", { hostUserName: "a" });
  expectStatus(r, 201);
  assert.equal(r.headers.get("access-control-allow-origin"), null);
});

test("GET /health answers without an origin check", async () => {
  for (const origin of ["http://evil.example", "null", "https://localhost"]) {
    const r = await get(s.url, "/health", { origin });
    expectStatus(r, 200);
    assert.deepEqual(r.body, { ok: true });
  }
  // Only GET: another method on /health is still origin-checked.
  expectError(
    await req(`${s.url}/health`, { method: "POST", headers: { origin: "http://evil.example" } }),
    403,
    "origin_not_allowed",
  );
});

test("ALLOWED_ORIGINS: an exact list replaces the default", async () => {
  const s2 = await startServer({ ALLOWED_ORIGINS: "https://game.example, http://localhost:5173" });
  try {
    for (const origin of ["https://game.example", "http://localhost:5173"]) {
      const pf = await preflight(s2.url, origin);
      assert.equal(pf.status, 204);
      assert.equal(pf.headers.get("access-control-allow-origin"), origin);
      expectStatus(await post(s2.url, "/rooms", { hostUserName: "a" }, { origin }), 201);
    }
    for (const origin of [
      "http://localhost",
      "http://localhost:5174",
      "https://game.example:444",
      "http://game.example",
      "https://game.example.evil",
      "https://sub.game.example",
    ]) {
      expectStatus(await preflight(s2.url, origin), 204);
      expectError(await post(s2.url, "/rooms", { hostUserName: "a" }, { origin }), 403, "origin_not_allowed");
    }
    expectStatus(await post(s2.url, "/rooms", { hostUserName: "a" }), 201);
  } finally {
    await s2.close();
  }
});

test("ALLOWED_ORIGINS=*: any origin", async () => {
  const s2 = await startServer({ ALLOWED_ORIGINS: "*" });
  try {
    for (const origin of ["https://anything.example", "http://localhost.evil.example", "null"]) {
      const pf = await preflight(s2.url, origin);
      assert.equal(pf.status, 204);
      assert.equal(pf.headers.get("access-control-allow-origin"), "*");
      const r = await post(s2.url, "/rooms", { hostUserName: "a" }, { origin });
      expectStatus(r, 201);
      const room = r.body;
      expectStatus(await get(s2.url, `/rooms/${room.code}`, { ...tok(room.ownerToken), origin }), 200);
    }
  } finally {
    await s2.close();
  }
});

test("a disallowed origin cannot act on a room even with a valid token", async () => {
  const room = await createRoom(s.url);
  expectError(
    await get(s.url, `/rooms/${room.code}`, { ...tok(room.ownerToken), origin: "http://evil.example" }),
    403,
    "origin_not_allowed",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/close`, {}, { ...tok(room.ownerToken), origin: "http://evil.example" }),
    403,
    "origin_not_allowed",
  );
  expectStatus(await get(s.url, `/rooms/${room.code}`, tok(room.ownerToken)), 200);
});
