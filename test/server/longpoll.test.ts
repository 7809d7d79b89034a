/** §8 longpoll (snapshot ?since&wait, ETag / If-None-Match) and delta long-polls. */
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
  sleep,
  tok,
  type Res,
} from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

/** Generous bound for "wakes within tens of ms" on a busy 2-core machine. */
const WAKE_MS = 500;

async function joined(url = s.url) {
  const room = await createRoom(url);
  const guest = await joinRoom(url, room);
  return { code: room.code, host: tok(room.ownerToken), guest: tok(guest) };
}

/** Starts a request and reports whether it is still pending after `ms`. */
function track(p: Promise<Res>) {
  let settledAt: number | undefined;
  const done = p.then((r) => {
    settledAt = Date.now();
    return r;
  });
  return { done, pending: () => settledAt === undefined, settledAt: () => settledAt };
}

test("snapshot ?since=V&wait=S answers at once when version > V", async () => {
  const { code, guest } = await joined();
  const t0 = Date.now();
  const r = await get(s.url, `/rooms/${code}?since=1&wait=20`, guest);
  expectStatus(r, 200);
  assert.equal(r.body.version, 2);
  assert.ok(Date.now() - t0 < WAKE_MS);
});

test("snapshot long-poll holds, then wakes within tens of ms of a change", async () => {
  const { code, host, guest } = await joined();
  const poll = track(get(s.url, `/rooms/${code}?since=2&wait=20`, guest));
  await sleep(300);
  assert.ok(poll.pending(), "held while nothing changed");
  // A candidate post does not change the version: still held.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), host), 204);
  await sleep(150);
  assert.ok(poll.pending(), "candidate posts do not wake snapshot waiters");
  const changedAt = Date.now();
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  const r = await poll.done;
  expectStatus(r, 200);
  assert.equal(r.body.version, 3);
  assert.equal(r.body.offer.sdp, SDP_OFFER);
  assert.equal(r.headers.get("etag"), '"3"');
  assert.ok(poll.settledAt()! - changedAt < WAKE_MS, `woke after ${poll.settledAt()! - changedAt} ms`);
});

test("several waiters on one room all wake; waiters of another room do not", async () => {
  const a = await joined();
  const b = await joined();
  const pa = [
    track(get(s.url, `/rooms/${a.code}?since=2&wait=20`, a.guest)),
    track(get(s.url, `/rooms/${a.code}?since=2&wait=20`, a.host)),
  ];
  const pb = track(get(s.url, `/rooms/${b.code}?since=2&wait=3`, b.guest));
  await sleep(200);
  expectStatus(await post(s.url, `/rooms/${a.code}/offer`, { type: "offer", sdp: SDP_OFFER }, a.host), 204);
  for (const p of pa) assert.equal((await p.done).body.version, 3);
  await sleep(100);
  assert.ok(pb.pending(), "the other room's waiter is still held");
  expectStatus(await post(s.url, `/rooms/${b.code}/close`, {}, b.host), 204);
  // A room that closes while a long-poll is held answers 410 closed.
  expectError(await pb.done, 410, "closed");
});

test("long-poll hold is capped by LONGPOLL_MAX_SEC and then answers with the current snapshot", async () => {
  const s2 = await startServer({ LONGPOLL_MAX_SEC: "1" });
  try {
    const { code, guest } = await joined(s2.url);
    const t0 = Date.now();
    const r = await get(s2.url, `/rooms/${code}?since=2&wait=20`, guest);
    const took = Date.now() - t0;
    expectStatus(r, 200);
    assert.equal(r.body.version, 2);
    assert.ok(took >= 900 && took < 5000, `held ${took} ms`);
    // wait=0 never holds.
    const t1 = Date.now();
    expectStatus(await get(s2.url, `/rooms/${code}?since=2&wait=0`, guest), 200);
    assert.ok(Date.now() - t1 < WAKE_MS);
  } finally {
    await s2.close();
  }
});

test("ETag and If-None-Match: 304 with the §1 headers when unchanged and no wait", async () => {
  const { code, host } = await joined();
  const first = await get(s.url, `/rooms/${code}`, host);
  const etag = first.headers.get("etag");
  assert.equal(etag, `"${first.body.version}"`);
  const nm = await get(s.url, `/rooms/${code}`, { ...host, "if-none-match": etag! });
  assert.equal(nm.status, 304);
  assert.equal(nm.text, "");
  assert.equal(nm.headers.get("etag"), etag);
  assert.equal(nm.headers.get("x-registry-features"), "longpoll, delta, batch, end, restart, fast, ice, offer-watch");
  assert.equal(nm.headers.get("cache-control"), "no-store");
  expectStatus(await get(s.url, `/rooms/${code}`, { ...host, "if-none-match": `W/${etag}` }), 304);
  expectStatus(await get(s.url, `/rooms/${code}`, { ...host, "if-none-match": `"999", ${etag}` }), 304);
  expectStatus(await get(s.url, `/rooms/${code}`, { ...host, "if-none-match": '"1"' }), 200);
  // If-None-Match does not bypass the token check.
  expectError(await get(s.url, `/rooms/${code}`, { "if-none-match": etag! }), 403, "forbidden");
  // With wait, If-None-Match is the cursor: held until the version moves, then 200.
  const poll = track(get(s.url, `/rooms/${code}?wait=20`, { ...host, "if-none-match": etag! }));
  await sleep(200);
  assert.ok(poll.pending());
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  const r = await poll.done;
  expectStatus(r, 200);
  assert.equal(r.body.version, first.body.version + 1);
});

test("(ext) join, offer and answer answer with ETag: the room's version after the change, a long-poll cursor without a read", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" });
  expectStatus(j, 200);
  const guest = tok(j.body.guestToken);
  const afterJoin = (await get(s.url, `/rooms/${room.code}`, host)).body.version as number;
  assert.equal(j.headers.get("etag"), `"${afterJoin}"`);
  const o = await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host);
  expectStatus(o, 204);
  assert.equal(o.headers.get("etag"), `"${afterJoin + 1}"`);
  // The offer's ETag as the cursor: held (nothing moved since), then woken by the answer.
  const poll = track(get(s.url, `/rooms/${room.code}?wait=20`, { ...host, "if-none-match": o.headers.get("etag")! }));
  await sleep(200);
  assert.ok(poll.pending());
  const a = await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest);
  expectStatus(a, 204);
  const r = await poll.done;
  expectStatus(r, 200);
  assert.equal(r.body.answer.sdp, SDP_ANSWER);
  assert.equal(a.headers.get("etag"), `"${r.body.version}"`);
  // A restart offer's 204 carries the new version too; a refused one carries none.
  const re = await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, host);
  expectStatus(re, 204);
  assert.equal(re.headers.get("etag"), `"${r.body.version + 1}"`);
  const refused = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Eve" });
  assert.equal(refused.status, 409);
  assert.equal(refused.headers.get("etag"), null);
});

test("bad since / wait on snapshots are 400", async () => {
  const { code, host } = await joined();
  for (const q of ["?since=x", "?since=-1", "?wait=1.5", "?wait=abc", "?since=1e3"])
    expectError(await get(s.url, `/rooms/${code}${q}`, host), 400, "bad_request");
});

test("delta long-poll holds until the OTHER side posts, then wakes fast", async () => {
  const { code, host, guest } = await joined();
  const poll = track(get(s.url, `/rooms/${code}/candidates?since=0&wait=20`, guest));
  await sleep(200);
  assert.ok(poll.pending());
  // The guest's own candidates do not wake the guest's read of the host's side.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), guest), 204);
  // Nor does a version change (an answer-less offer replacement with no host candidates... clears nothing new).
  await sleep(150);
  assert.ok(poll.pending());
  const at = Date.now();
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(2), cand(3)] }, host), 204);
  const r = await poll.done;
  assert.ok(poll.settledAt()! - at < WAKE_MS);
  assert.equal(r.body.mode, "delta");
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.lastSeq, 2);
  // Next read from the cursor holds again, and an end mark wakes it with complete: true.
  const next = track(get(s.url, `/rooms/${code}/candidates?since=2&wait=20`, guest));
  await sleep(200);
  assert.ok(next.pending());
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { end: true }, host), 204);
  const r2 = await next.done;
  assert.deepEqual(r2.body, { items: [], mode: "delta", lastSeq: 2, complete: true });
  // Once complete, a delta read answers at once (nothing left to wait for).
  const t0 = Date.now();
  expectStatus(await get(s.url, `/rooms/${code}/candidates?since=2&wait=20`, guest), 200);
  assert.ok(Date.now() - t0 < WAKE_MS);
});

test("delta cursors stay valid after clears (offer replacement, restart)", async () => {
  const { code, host, guest } = await joined();
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1), cand(2)] }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1)] }, guest), 204);
  let r = await get(s.url, `/rooms/${code}/candidates?since=0`, guest);
  const cursor = r.body.lastSeq;
  assert.equal(cursor, 2);
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  // Held across the clear: nothing new yet.
  const poll = track(get(s.url, `/rooms/${code}/candidates?since=${cursor}&wait=20`, guest));
  await sleep(200);
  assert.ok(poll.pending());
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), host), 204);
  r = await poll.done;
  assert.equal(r.body.items.length, 1, "the re-posted candidate is new after the clear");
  assert.equal(r.body.items[0].candidate, cand(1).candidate);
  assert.equal(r.body.lastSeq, 3);
  // Restart clears both sides; the host's cursor into the guest side stays valid too.
  expectStatus(await post(s.url, `/rooms/${code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, host), 204);
  r = await get(s.url, `/rooms/${code}/candidates?since=1`, host);
  assert.deepEqual(r.body, { items: [], mode: "delta", lastSeq: 1, complete: false });
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), guest), 204);
  r = await get(s.url, `/rooms/${code}/candidates?since=1`, host);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.lastSeq, 2);
});

test("closing the server answers pending long-polls promptly", async () => {
  const s2 = await startServer();
  const { code, guest } = await joined(s2.url);
  const poll = track(
    get(s2.url, `/rooms/${code}?since=2&wait=20`, guest, { timeoutMs: 15_000 }).catch(
      (e: unknown) => ({ status: -1, error: e }) as unknown as Res,
    ),
  );
  await sleep(200);
  assert.ok(poll.pending());
  const t0 = Date.now();
  await s2.close();
  await poll.done;
  assert.ok(poll.settledAt()! - t0 < 3000, `settled ${poll.settledAt()! - t0} ms after close`);
});
