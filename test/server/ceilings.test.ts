/**
 * Issue 13 §1–§2: ceilings and timeouts. A flood from many source addresses (varied through a
 * trusted loopback proxy, or real 127.0.0.x source addresses for sockets) stays under each
 * ceiling and is answered with the error envelope (429/503 + Retry-After); the Registry keeps
 * answering everyone else. Room count, connections, per-IP/total long-polls and timeouts are
 * Node's (on Workers the platform scales them); bytes and long-polls per room apply to both.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOOPBACK_PROXY, RUNTIME, fromIp, startServer } from "./harness.ts";
import { SDP_OFFER, cand, createRoom, expectError, expectStatus, get, joinRoom, post, sleep, tok, type Res } from "./helpers.ts";
import { openRaw, parseRaw, until, type RawSocket } from "./sockets.ts";

/** Time for fired long-polls to reach the server and be held, on a loaded 2-core machine (well within their hold). */
const SETTLE_MS = RUNTIME === "workerd" ? 1200 : 800;

const nodeOnly = { skip: RUNTIME !== "node" ? "Node only (Workers: the platform's ceilings)" : false };

function expectEnvelope(r: Res, status: number, code: string): void {
  expectError(r, status, code);
  const sec = r.body.error.retryAfterSec;
  assert.ok(Number.isInteger(sec) && sec >= 1 && sec <= 60, r.text);
  assert.equal(r.headers.get("retry-after"), String(sec));
}

test("MAX_ROOMS: a create flood from 60 addresses fills the Registry to the ceiling, no further; then 503 + Retry-After", nodeOnly, async () => {
  const s = await startServer({ ...LOOPBACK_PROXY, MAX_ROOMS: "25", LIMIT_CREATE_PER_MIN: "" });
  try {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => post(s.url, "/rooms", { hostUserName: "flood" }, fromIp(`198.18.${i >> 4}.${i & 15}`))));
    const made = results.filter((r) => r.status === 201).length;
    assert.equal(made, 25);
    for (const r of results.filter((x) => x.status !== 201)) expectEnvelope(r, 503, "unavailable");
    expectStatus(await get(s.url, "/health"), 200);
    // Rooms already there work as before.
    const room = results.find((r) => r.status === 201)!.body;
    expectStatus(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }), 200);
  } finally {
    await s.close();
  }
});

test("MAX_ROOMS counts live rooms: a closed room (a tombstone) frees its place at once", nodeOnly, async () => {
  const s = await startServer({ MAX_ROOMS: "2" });
  try {
    const a = await createRoom(s.url);
    await createRoom(s.url);
    expectEnvelope(await post(s.url, "/rooms", { hostUserName: "a" }), 503, "unavailable");
    expectStatus(await post(s.url, `/rooms/${a.code}/close`, {}, tok(a.ownerToken)), 204);
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }), 201);
    // The tombstone still answers 410.
    expectError(await get(s.url, `/rooms/${a.code}`, tok(a.ownerToken)), 410, "closed");
  } finally {
    await s.close();
  }
});

test("MAX_ROOMS: expired rooms make room again (the sweep frees places)", nodeOnly, async () => {
  const s = await startServer({ MAX_ROOMS: "3", TTL_OPEN_SEC: "0.4", TTL_CLOSED_SEC: "0" });
  try {
    for (let i = 0; i < 3; i++) await createRoom(s.url);
    expectEnvelope(await post(s.url, "/rooms", { hostUserName: "a" }), 503, "unavailable");
    assert.ok(await untilAsync(async () => (await post(s.url, "/rooms", { hostUserName: "a" })).status === 201, 5000), "a place frees up once rooms expire");
  } finally {
    await s.close();
  }
});

async function untilAsync(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return false;
}

test("MAX_ROOM_BYTES: an offer or candidates that would pass the room's bytes are refused (413), nothing stored", async () => {
  const s = await startServer({ MAX_ROOM_BYTES: "3000" });
  try {
    const room = await createRoom(s.url);
    const guest = await joinRoom(s.url, room);
    const host = tok(room.ownerToken);
    const big = SDP_OFFER + "a=x:" + "y".repeat(3000) + "\r\n";
    expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: big }, host), 413, "body_too_large");
    const snap = await get(s.url, `/rooms/${room.code}`, host);
    assert.equal(snap.body.offer, null);
    const mid = SDP_OFFER + "a=x:" + "y".repeat(1500) + "\r\n";
    expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: mid }, host), 204);
    // ~1,560 characters held: 40 candidates of ~56 do not fit, 5 do.
    const many = Array.from({ length: 40 }, (_, i) => cand(i));
    expectError(await post(s.url, `/rooms/${room.code}/candidate`, { items: many }, tok(guest)), 413, "body_too_large");
    expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, { items: many.slice(0, 5) }, tok(guest)), 204);
    const theirs = await get(s.url, `/rooms/${room.code}/candidates`, host);
    assert.equal(theirs.body.items.length, 5);
    // Replacing the offer frees the old one's bytes.
    expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: mid }, host), 204);
  } finally {
    await s.close();
  }
});

test("MAX_LONGPOLLS_PER_ROOM: held long-polls on one room stop at the ceiling (429), the holders are answered normally", async () => {
  const s = await startServer({ MAX_LONGPOLLS_PER_ROOM: "2", LONGPOLL_MAX_SEC: "5" });
  try {
    const room = await createRoom(s.url);
    const host = tok(room.ownerToken);
    const snap = await get(s.url, `/rooms/${room.code}`, host);
    const v = snap.body.version;
    const held = [get(s.url, `/rooms/${room.code}?since=${v}&wait=5`, host), get(s.url, `/rooms/${room.code}?since=${v}&wait=5`, host)];
    await sleep(SETTLE_MS);
    expectEnvelope(await get(s.url, `/rooms/${room.code}?since=${v}&wait=5`, host), 429, "rate_limited");
    // Not a long-poll: answered as usual.
    expectStatus(await get(s.url, `/rooms/${room.code}`, host), 200);
    // Another room has its own places.
    const other = await createRoom(s.url);
    const o = await get(s.url, `/rooms/${other.code}`, tok(other.ownerToken));
    const t0 = Date.now();
    const oh = await get(s.url, `/rooms/${other.code}?since=${o.body.version}&wait=1`, tok(other.ownerToken));
    expectStatus(oh, 200);
    assert.ok(Date.now() - t0 >= 800, "held");
    // A change answers the held ones.
    await joinRoom(s.url, room);
    for (const r of await Promise.all(held)) expectStatus(r, 200);
  } finally {
    await s.close();
  }
});

test("MAX_LONGPOLLS_PER_IP and MAX_LONGPOLLS: a long-poll flood is capped per address (429) and in total (503)", nodeOnly, async () => {
  const s = await startServer({ ...LOOPBACK_PROXY, MAX_LONGPOLLS_PER_IP: "3", MAX_LONGPOLLS: "7", LONGPOLL_MAX_SEC: "5" });
  try {
    const rooms = await Promise.all(Array.from({ length: 12 }, () => createRoom(s.url)));
    const poll = (i: number, ip: string) => get(s.url, `/rooms/${rooms[i]!.code}?since=1&wait=5`, { ...tok(rooms[i]!.ownerToken), ...fromIp(ip) });
    // One address: 3 held, the 4th refused.
    const a = [0, 1, 2].map((i) => poll(i, "198.51.100.1"));
    await sleep(SETTLE_MS);
    expectEnvelope(await poll(3, "198.51.100.1"), 429, "rate_limited");
    // Other addresses fill the total to 7; the 8th is refused as a full Registry.
    const b = [4, 5, 6].map((i) => poll(i, "198.51.100.2"));
    const c = [7].map((i) => poll(i, "198.51.100.3"));
    await sleep(SETTLE_MS);
    expectEnvelope(await poll(8, "198.51.100.4"), 503, "unavailable");
    expectStatus(await get(s.url, "/health"), 200);
    // The held ones end normally at their deadline (200 snapshot), and the places come back.
    for (const r of await Promise.all([...a, ...b, ...c])) expectStatus(r, 200);
    const t0 = Date.now();
    expectStatus(await get(s.url, `/rooms/${rooms[9]!.code}?since=1&wait=1`, { ...tok(rooms[9]!.ownerToken), ...fromIp("198.51.100.1") }), 200);
    assert.ok(Date.now() - t0 >= 800, "held again");
  } finally {
    await s.close();
  }
});

test("MAX_CONNECTIONS_PER_IP: one address's sockets stop at the ceiling (429 envelope), other addresses still connect", nodeOnly, async () => {
  const s = await startServer({ MAX_CONNECTIONS_PER_IP: "5", HEADERS_TIMEOUT_SEC: "30", REQUEST_TIMEOUT_SEC: "30" });
  const socks: RawSocket[] = [];
  try {
    for (let i = 0; i < 5; i++) socks.push(await openRaw(s.url, "127.0.0.2"));
    const extra = await openRaw(s.url, "127.0.0.2");
    socks.push(extra);
    extra.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await extra.closed;
    const r = parseRaw(extra.data());
    assert.ok(r, extra.data());
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, "rate_limited");
    assert.match(r.headers, /retry-after: \d+/);
    assert.match(r.headers, /x-content-type-options: nosniff/);
    // Another source address is not affected; fetch (127.0.0.1) neither.
    const other = await openRaw(s.url, "127.0.0.3");
    socks.push(other);
    other.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await other.closed;
    assert.equal(parseRaw(other.data())?.status, 200);
    expectStatus(await get(s.url, "/health"), 200);
    // A place frees when a socket closes.
    socks[0]!.destroy();
    await sleep(100);
    const again = await openRaw(s.url, "127.0.0.2");
    socks.push(again);
    again.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await again.closed;
    assert.equal(parseRaw(again.data())?.status, 200);
  } finally {
    for (const x of socks) x.destroy();
    await s.close();
  }
});

test("timeouts: slow headers and slow bodies are cut within seconds, with the envelope", nodeOnly, async () => {
  const s = await startServer({ HEADERS_TIMEOUT_SEC: "1", REQUEST_TIMEOUT_SEC: "1.5" });
  const socks: RawSocket[] = [];
  try {
    const slowHead = await openRaw(s.url);
    socks.push(slowHead);
    slowHead.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const slowBody = await openRaw(s.url);
    socks.push(slowBody);
    slowBody.socket.write('POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Registry-Version: 1\r\nContent-Length: 100\r\n\r\n{"hostUs');
    const t0 = Date.now();
    assert.ok(await until(() => slowHead.socket.destroyed || slowHead.socket.readableEnded, 6000), "slow headers cut");
    assert.ok(await until(() => slowBody.socket.destroyed || slowBody.socket.readableEnded, 6000), "slow body cut");
    assert.ok(Date.now() - t0 < 6000);
    for (const x of [slowHead, slowBody]) {
      const r = parseRaw(x.data());
      assert.ok(r, x.data());
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, "bad_request");
    }
    expectStatus(await get(s.url, "/health"), 200);
  } finally {
    for (const x of socks) x.destroy();
    await s.close();
  }
});

test("Expect: 100-continue: no 100 Continue for a body over the cap (413 at once); 100 for one the app will read", nodeOnly, async () => {
  const s = await startServer();
  const socks: RawSocket[] = [];
  try {
    const big = await openRaw(s.url);
    socks.push(big);
    big.socket.write("POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Registry-Version: 1\r\nContent-Length: 70000\r\nExpect: 100-continue\r\n\r\n");
    assert.ok(await until(() => big.data().includes("\r\n\r\n"), 5000), "answered without the body");
    assert.ok(!big.data().includes("100 Continue"), big.data());
    assert.match(big.data(), /^HTTP\/1\.1 413 /);
    const small = await openRaw(s.url);
    socks.push(small);
    const body = JSON.stringify({ hostUserName: "a" });
    small.socket.write(`POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Registry-Version: 1\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    assert.ok(await until(() => small.data().includes("100 Continue"), 5000), small.data());
    small.socket.write(body);
    await small.closed;
    assert.match(small.data(), /HTTP\/1\.1 201 /);
  } finally {
    for (const x of socks) x.destroy();
    await s.close();
  }
});
