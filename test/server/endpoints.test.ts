/** Every endpoint of §4 on its happy path, the §1 headers, unknown routes and methods. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import {
  SDP_ANSWER,
  SDP_OFFER,
  UNKNOWN_CODE,
  cand,
  createRoom,
  expectError,
  expectStatus,
  get,
  joinRoom,
  post,
  req,
  tok,
} from "./helpers.ts";
import { FEATURES, isRoomCode, normalizeJoinCode } from "../../src/protocol/index.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const ALL = "longpoll, delta, batch, end, restart, fast, ice, offer-watch";

function expectCommonHeaders(r: { headers: Headers }) {
  assert.equal(r.headers.get("x-registry-features"), ALL);
  assert.equal(r.headers.get("cache-control"), "no-store");
}

test("GET / describes the registry and its features", async () => {
  const r = await get(s.url, "/");
  expectStatus(r, 200);
  assert.deepEqual(r.body, { name: "registry", apiVersion: 1, features: [...FEATURES] });
  expectCommonHeaders(r);
});

test("GET /health is 200 {ok:true}", async () => {
  const r = await get(s.url, "/health");
  expectStatus(r, 200);
  assert.deepEqual(r.body, { ok: true });
  expectCommonHeaders(r);
});

test("POST /rooms creates an open room with well-formed secrets", async () => {
  const before = Date.now();
  const r = await post(s.url, "/rooms", { hostUserName: "Alice" });
  expectStatus(r, 201);
  expectCommonHeaders(r);
  const { code, ownerToken, joinCode, expiresAt } = r.body;
  assert.ok(isRoomCode(code), code);
  assert.match(ownerToken, /^[A-Za-z0-9_-]{43}$/, "32 bytes base64url");
  assert.match(joinCode, /^[0-9A-HJKMNP-TV-Z]{8}$/);
  assert.equal(normalizeJoinCode(joinCode), joinCode);
  // 15 min default TTL for open rooms.
  assert.ok(expiresAt >= before + 900_000 - 5_000 && expiresAt <= Date.now() + 900_000 + 5_000, String(expiresAt));
  assert.deepEqual(Object.keys(r.body).sort(), [
    "code",
    "expiresAt",
    "iceExpiresAt",
    "iceServers",
    "joinCode",
    "ownerToken",
  ]);
});

test("two rooms never share code or secrets", async () => {
  const a = await createRoom(s.url);
  const b = await createRoom(s.url);
  assert.notEqual(a.code, b.code);
  assert.notEqual(a.ownerToken, b.ownerToken);
  assert.notEqual(a.joinCode, b.joinCode);
});

test("GET /rooms/:code/public shows an open room, 404 otherwise", async () => {
  const room = await createRoom(s.url, "Zoë 🎲");
  const r = await get(s.url, `/rooms/${room.code}/public`);
  expectStatus(r, 200);
  assert.deepEqual(r.body, { status: "open", hostUserName: "Zoë 🎲", expiresAt: room.expiresAt });
  expectCommonHeaders(r);
  await joinRoom(s.url, room);
  expectError(await get(s.url, `/rooms/${room.code}/public`), 404, "not_found");
  expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}/public`), 404, "not_found");
  expectError(await get(s.url, `/rooms/not-a-code/public`), 404, "not_found");
});

test("full handshake: join, offer, snapshot, answer, candidates, close", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);

  let snap = await get(s.url, `/rooms/${room.code}`, host);
  expectStatus(snap, 200);
  assert.deepEqual(
    { ...snap.body, updatedAt: 0 },
    {
      status: "open",
      offer: null,
      answer: null,
      hostUserName: "Alice",
      guestUserName: null,
      version: 1,
      updatedAt: 0,
      expiresAt: room.expiresAt,
    },
  );
  assert.equal(snap.headers.get("etag"), `"${snap.body.version}"`);

  const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" });
  expectStatus(j, 200);
  assert.match(j.body.guestToken, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(typeof j.body.expiresAt, "number");
  // (ext fast) the join also carries the room and the host's candidates so far; (ext ice) the guest's ICE servers.
  assert.deepEqual(Object.keys(j.body).sort(), [
    "candidates",
    "expiresAt",
    "guestToken",
    "iceExpiresAt",
    "iceServers",
    "room",
  ]);
  assert.deepEqual(j.body.candidates, { items: [], mode: "full", lastSeq: 0, complete: false });
  const guest = tok(j.body.guestToken);

  snap = await get(s.url, `/rooms/${room.code}`, guest);
  assert.deepEqual(j.body.room, snap.body);
  assert.equal(snap.body.status, "joined");
  assert.equal(snap.body.guestUserName, "Bob");
  assert.equal(snap.body.version, 2);
  assert.equal(snap.body.expiresAt, j.body.expiresAt);
  const v2Updated = snap.body.updatedAt;

  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  snap = await get(s.url, `/rooms/${room.code}`, guest);
  assert.deepEqual(snap.body.offer, { type: "offer", sdp: SDP_OFFER });
  assert.equal(snap.body.version, 3);
  assert.ok(snap.body.updatedAt >= v2Updated);

  expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, cand(1), host), 204);
  expectStatus(
    await post(s.url, `/rooms/${room.code}/candidate`, { candidate: "candidate:2 1 udp 1 10.0.0.1 9 typ host" }, host),
    204,
  );
  // Candidate posts do not change the version.
  assert.equal((await get(s.url, `/rooms/${room.code}`, host)).body.version, 3);

  expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  snap = await get(s.url, `/rooms/${room.code}`, host);
  assert.equal(snap.body.status, "paired");
  assert.deepEqual(snap.body.answer, { type: "answer", sdp: SDP_ANSWER });
  assert.equal(snap.body.version, 4);
  assert.ok(snap.body.expiresAt >= Date.now() + 1800_000 - 10_000, "30 min paired TTL");

  // Each side reads the OTHER side's candidates.
  const forGuest = await get(s.url, `/rooms/${room.code}/candidates`, guest);
  expectStatus(forGuest, 200);
  assert.deepEqual(forGuest.body, {
    items: [
      { candidate: cand(1).candidate, sdpMid: "0", sdpMLineIndex: 0 },
      { candidate: "candidate:2 1 udp 1 10.0.0.1 9 typ host", sdpMid: null, sdpMLineIndex: null },
    ],
    mode: "full",
    lastSeq: 2,
    complete: false,
  });
  const forHost = await get(s.url, `/rooms/${room.code}/candidates`, host);
  assert.deepEqual(forHost.body, { items: [], mode: "full", lastSeq: 0, complete: false });

  expectStatus(await post(s.url, `/rooms/${room.code}/close`, { reason: "bye" }, guest), 204);
  expectError(await get(s.url, `/rooms/${room.code}`, host), 410, "closed");
  // Close is idempotent, for both sides, with or without a body.
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, host), 204);
  expectStatus(
    await req(`${s.url}/rooms/${room.code}/close`, { method: "POST", headers: { "x-registry-version": "1", ...host } }),
    204,
  );
});

test("room codes in the path are read forgivingly (case, O/I/L)", async () => {
  const room = await createRoom(s.url);
  const r = await get(s.url, `/rooms/${room.code.toLowerCase()}`, tok(room.ownerToken));
  expectStatus(r, 200);
});

test("unknown routes are 404 not_found with the envelope and the §1 headers", async () => {
  for (const path of ["/nope", "/rooms/ABCDEF/nope", "/rooms/", "/rooms/ABCDEF/offer/x", "/health/x"]) {
    const r = await get(s.url, path);
    expectError(r, 404, "not_found");
    expectCommonHeaders(r);
  }
  const r = await post(s.url, "/nope", {});
  expectError(r, 404, "not_found");
});

test("known routes with another method are 405 method_not_allowed", async () => {
  const cases: Array<[string, string]> = [
    ["POST", "/"],
    ["POST", "/health"],
    ["GET", "/rooms"],
    ["PUT", "/rooms"],
    ["DELETE", "/rooms/ABCDEF"],
    ["POST", "/rooms/ABCDEF"],
    ["POST", "/rooms/ABCDEF/public"],
    ["GET", "/rooms/ABCDEF/join"],
    ["PUT", "/rooms/ABCDEF/offer"],
    ["GET", "/rooms/ABCDEF/answer"],
    ["GET", "/rooms/ABCDEF/candidate"],
    ["POST", "/rooms/ABCDEF/candidates"],
    ["PATCH", "/rooms/ABCDEF/close"],
    ["GET", "/rooms/ABCDEF/ice-servers"],
  ];
  for (const [method, path] of cases) {
    // Without the version header too: route and method come before it in §6.
    const r = await req(s.url + path, {
      method,
      headers: method === "GET" ? {} : { "content-type": "application/json" },
      ...(method === "GET" ? {} : { body: "{}" }),
    });
    expectError(r, 405, "method_not_allowed");
    expectCommonHeaders(r);
  }
});

test("unknown room is 404 on every room endpoint", async () => {
  const t = tok("x".repeat(43));
  expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}`, t), 404, "not_found");
  expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}/candidates`, t), 404, "not_found");
  for (const op of ["offer", "answer", "candidate", "close"])
    expectError(await post(s.url, `/rooms/${UNKNOWN_CODE}/${op}`, {}, t), 404, "not_found");
  expectError(
    await post(s.url, `/rooms/${UNKNOWN_CODE}/join`, { joinCode: "00000000", guestUserName: "x" }),
    404,
    "not_found",
  );
});

test("state machine: join twice, answer twice, offer while paired, answer before offer", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const guest = tok(await joinRoom(s.url, room));
  // Second join with the right code while joined: not_open.
  expectError(
    await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Eve" }),
    409,
    "not_open",
  );
  // Answer before any offer.
  const noOffer = await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest);
  expectError(noOffer, 409, "no_offer");
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  expectError(
    await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest),
    409,
    "already_paired",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host),
    409,
    "already_paired",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: false }, host),
    409,
    "already_paired",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Eve" }),
    409,
    "already_paired",
  );
});

test("the host may post its offer while open, and replace it", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  let snap = await get(s.url, `/rooms/${room.code}`, host);
  assert.equal(snap.body.status, "open");
  assert.equal(snap.body.offer.sdp, SDP_OFFER);
  const v = snap.body.version;
  expectStatus(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: `${SDP_OFFER}a=x\r\n` }, host),
    204,
  );
  snap = await get(s.url, `/rooms/${room.code}`, host);
  assert.equal(snap.body.offer.sdp, `${SDP_OFFER}a=x\r\n`);
  assert.equal(snap.body.version, v + 1);
});

test("closed room: 410 for every token request and for join, close stays 204, public is 404", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const guest = tok(await joinRoom(s.url, room));
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, host), 204);
  for (const t of [host, guest]) {
    expectError(await get(s.url, `/rooms/${room.code}`, t), 410, "closed");
    expectError(await get(s.url, `/rooms/${room.code}/candidates`, t), 410, "closed");
    expectError(await post(s.url, `/rooms/${room.code}/candidate`, cand(1), t), 410, "closed");
    expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, t), 204);
  }
  expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 410, "closed");
  expectError(
    await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest),
    410,
    "closed",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Eve" }),
    410,
    "closed",
  );
  expectError(await get(s.url, `/rooms/${room.code}/public`), 404, "not_found");
  // 410 comes before the token check (§6): a wrong token also sees 410 on a closed room...
  expectError(await get(s.url, `/rooms/${room.code}`, tok("nope")), 410, "closed");
  // ...but close itself still needs a valid token.
  expectError(await post(s.url, `/rooms/${room.code}/close`, {}, tok("nope")), 403, "forbidden");
});

test("close: reason is optional, a non-string or over-long reason is 400", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  expectError(await post(s.url, `/rooms/${room.code}/close`, { reason: 5 }, host), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${room.code}/close`, { reason: "x".repeat(201) }, host), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${room.code}/close`, [], host), 400, "bad_request");
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, { reason: "x".repeat(200) }, host), 204);
});
