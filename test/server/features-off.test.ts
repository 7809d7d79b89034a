/**
 * REGISTRY_FEATURES=none (a test switch): the server advertises no extension and behaves
 * as the MVP — wait/since/If-None-Match ignored, batch/end/restart refused with 400 —
 * so client tests can check their full-set polling fallback. Also a partial list.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import {
  SDP_ANSWER,
  SDP_OFFER,
  cand,
  createRoom,
  expectError,
  expectStatus,
  get,
  joinRoom,
  post,
  tok,
} from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer({ REGISTRY_FEATURES: "none" });
});
after(() => s.close());

test("advertises no features: GET / lists none, the header is empty on every response", async () => {
  const r = await get(s.url, "/");
  assert.deepEqual(r.body, { name: "registry", apiVersion: 1, features: [] });
  for (const res of [r, await get(s.url, "/health"), await get(s.url, "/nowhere"), await req0()]) {
    assert.equal(res.headers.get("x-registry-features"), "");
    assert.equal(res.headers.get("cache-control"), "no-store");
  }
});

function req0() {
  return post(s.url, "/rooms", { hostUserName: "a" });
}

test("snapshot: wait/since/If-None-Match are ignored (answers at once, 200, no ETag)", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const t0 = Date.now();
  const r = await get(s.url, `/rooms/${room.code}?since=1&wait=20`, host);
  expectStatus(r, 200);
  assert.ok(Date.now() - t0 < 1000, "not held");
  assert.equal(r.headers.get("etag"), null);
  expectStatus(await get(s.url, `/rooms/${room.code}`, { ...host, "if-none-match": `"${r.body.version}"` }), 200);
  // Even nonsense cursors are ignored, as a server that knows nothing of them would.
  expectStatus(await get(s.url, `/rooms/${room.code}?since=x&wait=y`, host), 200);
});

test("candidates: always the full set; batch and end are 400; complete stays false", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const guest = tok(await joinRoom(s.url, room));
  expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, cand(1), host), 204);
  expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, cand(2), host), 204);
  const t0 = Date.now();
  const r = await get(s.url, `/rooms/${room.code}/candidates?since=1&wait=20`, guest);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(r.body.mode, "full");
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.lastSeq, 2);
  assert.equal(r.body.complete, false);
  expectError(await post(s.url, `/rooms/${room.code}/candidate`, { items: [cand(3)] }, host), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${room.code}/candidate`, { end: true }, host), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${room.code}/candidate`, { items: [], end: true }, host), 400, "bad_request");
  assert.equal((await get(s.url, `/rooms/${room.code}/candidates`, guest)).body.items.length, 2);
});

test("restart: true is 400; restart: false is an ordinary offer", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const guest = tok(await joinRoom(s.url, room));
  expectStatus(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: false }, host),
    204,
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, host),
    400,
    "bad_request",
  );
  expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  expectError(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, host),
    400,
    "bad_request",
  );
  expectError(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host),
    409,
    "already_paired",
  );
});

test("a partial list serves and advertises just those", async () => {
  const s2 = await startServer({ REGISTRY_FEATURES: "delta,longpoll" });
  try {
    const r = await get(s2.url, "/");
    assert.deepEqual(r.body.features, ["longpoll", "delta"]);
    assert.equal(r.headers.get("x-registry-features"), "longpoll, delta");
    const room = await createRoom(s2.url);
    expectError(
      await post(s2.url, `/rooms/${room.code}/candidate`, { items: [cand(1)] }, tok(room.ownerToken)),
      400,
      "bad_request",
    );
    const guest = tok(await joinRoom(s2.url, room));
    expectStatus(await post(s2.url, `/rooms/${room.code}/candidate`, cand(1), tok(room.ownerToken)), 204);
    assert.equal((await get(s2.url, `/rooms/${room.code}/candidates?since=0`, guest)).body.mode, "delta");
  } finally {
    await s2.close();
  }
});
