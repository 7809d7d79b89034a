/**
 * (ext `fast`, docs/protocol.md, Extensions: Fast): CORS-simple POSTs (text/plain JSON, version and token in
 * the body, no custom header), the offer with room creation, the room and the host's
 * candidates with the join, the guest's candidates with the answer, and `/watch`: one
 * long-poll for room and candidates. The origin allowlist refuses simple requests too,
 * before any side effect. Without the feature the server is exactly the MVP for these.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import {
  SDP_ANSWER,
  SDP_OFFER,
  cand,
  expectError,
  expectStatus,
  get,
  post,
  req,
  sleep,
  tok,
  type Res,
} from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

/** Generous bound for "answers at once / wakes within tens of ms" on a busy 2-core machine. */
const WAKE_MS = 500;
const EVIL = "http://evil.example";

/** A CORS-simple POST: text/plain, no custom header (as a browser sends it without a preflight). */
function simple(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  return req(url + path, {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    timeoutMs: 15_000,
  });
}

interface Fast {
  code: string;
  host: string;
  joinCode: string;
}

async function createWithOffer(url = s.url, extra: Record<string, unknown> = {}): Promise<Fast & { res: Res }> {
  const res = await simple(url, "/rooms", {
    v: 1,
    hostUserName: "Ann",
    offer: { type: "offer", sdp: SDP_OFFER },
    ...extra,
  });
  expectStatus(res, 201);
  return { code: res.body.code, host: res.body.ownerToken, joinCode: res.body.joinCode, res };
}

async function fastJoin(r: Fast, url = s.url): Promise<Res> {
  const j = await simple(url, `/rooms/${r.code}/join`, { v: 1, joinCode: r.joinCode, guestUserName: "Bob" });
  expectStatus(j, 200);
  return j;
}

function track(p: Promise<Res>) {
  let settledAt: number | undefined;
  const done = p.then((r) => {
    settledAt = Date.now();
    return r;
  });
  return { done, pending: () => settledAt === undefined };
}

test("fast handshake: create+offer, join→offer+candidates, answer+candidates, watch wakes once", async () => {
  const r = await createWithOffer();
  assert.equal(r.res.headers.get("etag"), '"1"');
  assert.deepEqual(Object.keys(r.res.body).sort(), [
    "code",
    "expiresAt",
    "iceExpiresAt",
    "iceServers",
    "joinCode",
    "ownerToken",
  ]);
  // The host holds one watch for the answer and the guest's candidates from the start.
  const hostWatch = track(
    simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token: r.host, for: "answer", since: 0, wait: 10 }),
  );
  expectStatus(
    await simple(s.url, `/rooms/${r.code}/candidate`, { v: 1, token: r.host, items: [cand(1), cand(2)] }),
    204,
  );

  const j = await fastJoin(r);
  assert.equal(j.headers.get("etag"), '"2"');
  assert.equal(j.body.room.status, "joined");
  assert.deepEqual(j.body.room.offer, { type: "offer", sdp: SDP_OFFER });
  assert.equal(j.body.room.version, 2);
  assert.deepEqual(j.body.candidates, { items: [cand(1), cand(2)], mode: "full", lastSeq: 2, complete: false });
  // The join changed the version, but the host waits for the answer: still held.
  await sleep(150);
  assert.ok(hostWatch.pending(), "a join does not wake a watch for the answer");

  const guest = j.body.guestToken as string;
  expectStatus(
    await simple(s.url, `/rooms/${r.code}/candidate`, { v: 1, token: r.host, items: [cand(3)], end: true }),
    204,
  );
  const a = await simple(s.url, `/rooms/${r.code}/answer`, {
    v: 1,
    token: guest,
    type: "answer",
    sdp: SDP_ANSWER,
    candidates: [cand(11)],
    end: true,
    since: 2,
  });
  expectStatus(a, 200);
  assert.equal(a.headers.get("etag"), '"3"');
  assert.deepEqual(a.body, { candidates: { items: [cand(3)], mode: "delta", lastSeq: 3, complete: true } });

  const w = await hostWatch.done;
  expectStatus(w, 200);
  assert.equal(w.headers.get("etag"), '"3"');
  assert.equal(w.body.room.status, "paired");
  assert.deepEqual(w.body.room.answer, { type: "answer", sdp: SDP_ANSWER });
  assert.deepEqual(w.body.candidates, { items: [cand(11)], mode: "delta", lastSeq: 1, complete: true });

  // The preflighted MVP reads see the same room.
  const snap = await get(s.url, `/rooms/${r.code}`, tok(r.host));
  assert.equal(snap.body.version, 3);
  assert.equal((await get(s.url, `/rooms/${r.code}/candidates`, tok(r.host))).body.items.length, 1);

  expectStatus(await simple(s.url, `/rooms/${r.code}/close`, { v: 1, token: guest, reason: "bye" }), 204);
  expectError(await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token: r.host, version: 0 }), 410, "closed");
});

test("simple requests from a disallowed origin are refused 403 before any side effect", async () => {
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "Eve" }, { origin: EVIL }),
    403,
    "origin_not_allowed",
  );
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "Eve" }, { origin: "null" }),
    403,
    "origin_not_allowed",
  );
  const r = await createWithOffer();
  // A forged join with the right code from another site does not take the seat…
  expectError(
    await simple(
      s.url,
      `/rooms/${r.code}/join`,
      { v: 1, joinCode: r.joinCode, guestUserName: "Eve" },
      { origin: EVIL },
    ),
    403,
    "origin_not_allowed",
  );
  // …and the real guest still gets in.
  const j = await fastJoin(r);
  const guest = j.body.guestToken as string;
  // Forged writes with a right token change nothing either.
  expectError(
    await simple(
      s.url,
      `/rooms/${r.code}/answer`,
      { v: 1, token: guest, type: "answer", sdp: SDP_ANSWER },
      { origin: EVIL },
    ),
    403,
    "origin_not_allowed",
  );
  expectError(
    await simple(
      s.url,
      `/rooms/${r.code}/candidate`,
      { v: 1, token: r.host, candidate: cand(1).candidate },
      { origin: EVIL },
    ),
    403,
    "origin_not_allowed",
  );
  expectError(
    await simple(s.url, `/rooms/${r.code}/close`, { v: 1, token: r.host }, { origin: EVIL }),
    403,
    "origin_not_allowed",
  );
  const snap = await get(s.url, `/rooms/${r.code}`, tok(r.host));
  assert.equal(snap.body.status, "joined");
  assert.equal(snap.body.guestUserName, "Bob");
  assert.equal(snap.body.answer, null);
  assert.equal((await get(s.url, `/rooms/${r.code}/candidates`, tok(guest))).body.items.length, 0);
  // An allowed origin's simple request is answered with the CORS headers the page needs to read it.
  const ok = await simple(
    s.url,
    `/rooms/${r.code}/watch`,
    { v: 1, token: r.host, version: 0 },
    { origin: "http://localhost:5173" },
  );
  expectStatus(ok, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:5173");
  assert.match(ok.headers.get("access-control-expose-headers") ?? "", /ETag/);
});

test("the simple form needs the version in the body and the token in the body", async () => {
  expectError(await simple(s.url, "/rooms", { hostUserName: "Ann" }), 403, "forbidden");
  expectError(await simple(s.url, "/rooms", { v: 2, hostUserName: "Ann" }), 400, "bad_request");
  expectError(await simple(s.url, "/rooms", { v: "1", hostUserName: "Ann" }), 400, "bad_request");
  expectError(await simple(s.url, "/rooms", "not json"), 403, "forbidden");
  // Without the header, only text/plain is the simple form: JSON without the header stays 403.
  expectError(
    await req(`${s.url}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, hostUserName: "Ann" }),
    }),
    403,
    "forbidden",
  );
  // The version header also works with a text/plain body (a preflighted client may send it).
  expectStatus(await simple(s.url, "/rooms", { hostUserName: "Ann" }, { "x-registry-version": "1" }), 201);
  const r = await createWithOffer();
  expectError(await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, version: 0 }), 403, "forbidden");
  expectError(
    await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token: "x".repeat(43), version: 0 }),
    403,
    "forbidden",
  );
  expectError(await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token: 42, version: 0 }), 403, "forbidden");
  // The header, when present, is the token (a wrong header is not rescued by a right body).
  expectError(
    await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token: r.host, version: 0 }, { "x-access-token": "wrong" }),
    403,
    "forbidden",
  );
  expectStatus(await simple(s.url, `/rooms/${r.code}/watch`, { v: 1, version: 0 }, { "x-access-token": r.host }), 200);
  // Size is still checked before anything is parsed.
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "Ann", pad: "x".repeat(70_000) }),
    413,
    "body_too_large",
  );
});

test("create: the offer is validated and stored; without one the room is as before", async () => {
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "Ann", offer: { type: "answer", sdp: SDP_OFFER } }),
    400,
    "bad_sdp",
  );
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "Ann", offer: { type: "offer", sdp: "nope" } }),
    400,
    "bad_sdp",
  );
  expectError(await simple(s.url, "/rooms", { v: 1, hostUserName: "Ann", offer: "v=0" }), 400, "bad_request");
  expectError(
    await simple(s.url, "/rooms", { v: 1, hostUserName: "", offer: { type: "offer", sdp: SDP_OFFER } }),
    400,
    "bad_request",
  );
  const r = await createWithOffer();
  const snap = await get(s.url, `/rooms/${r.code}`, tok(r.host));
  assert.deepEqual(snap.body.offer, { type: "offer", sdp: SDP_OFFER });
  assert.equal(snap.body.version, 1);
  const plain = await post(s.url, "/rooms", { hostUserName: "Ann", offer: null });
  expectStatus(plain, 201);
  assert.equal((await get(s.url, `/rooms/${plain.body.code}`, tok(plain.body.ownerToken))).body.offer, null);
  // A guest that joins before the offer sees none, and the host's offer later replaces nothing.
  const j = await fastJoin({ code: plain.body.code, host: plain.body.ownerToken, joinCode: plain.body.joinCode });
  assert.equal(j.body.room.offer, null);
  assert.deepEqual(j.body.candidates, { items: [], mode: "full", lastSeq: 0, complete: false });
});

test("answer: candidates all or nothing, answer not stored on a refused list", async () => {
  const r = await createWithOffer();
  const guest = (await fastJoin(r)).body.guestToken as string;
  const answer = (extra: Record<string, unknown>) =>
    simple(s.url, `/rooms/${r.code}/answer`, { v: 1, token: guest, type: "answer", sdp: SDP_ANSWER, ...extra });
  expectError(await answer({ candidates: [cand(1), { candidate: "nope" }] }), 400, "bad_candidate");
  expectError(await answer({ candidates: Array.from({ length: 41 }, (_, i) => cand(i)) }), 400, "bad_request");
  expectError(await answer({ candidates: "x" }), 400, "bad_request");
  expectError(await answer({ end: false }), 400, "bad_request");
  expectError(await answer({ since: -1 }), 400, "bad_request");
  expectError(await answer({ since: 1.5 }), 400, "bad_request");
  expectError(await answer({ sdp: "nope", candidates: [cand(1)] }), 400, "bad_sdp");
  // 40 stored before: one more distinct one passes the cap, so nothing is stored, not even the answer.
  for (let i = 0; i < 40; i += 20) {
    expectStatus(
      await simple(s.url, `/rooms/${r.code}/candidate`, {
        v: 1,
        token: guest,
        items: Array.from({ length: 20 }, (_, k) => cand(100 + i + k)),
      }),
      204,
    );
  }
  expectError(await answer({ candidates: [cand(1)] }), 409, "too_many_candidates");
  assert.equal((await get(s.url, `/rooms/${r.code}`, tok(r.host))).body.answer, null);
  // Already stored ones are deduplicated, so the same list is fine; without `since` the answer is 204.
  const ok = await answer({ candidates: [cand(100)] });
  expectStatus(ok, 204);
  assert.equal(ok.headers.get("etag"), '"3"');
  expectError(await answer({}), 409, "already_paired");
});

test("answer with candidates before any offer is 409 no_offer and stores nothing", async () => {
  const plain = await post(s.url, "/rooms", { hostUserName: "Ann" });
  const r = { code: plain.body.code, host: plain.body.ownerToken, joinCode: plain.body.joinCode };
  const guest = (await fastJoin(r)).body.guestToken as string;
  expectError(
    await simple(s.url, `/rooms/${r.code}/answer`, {
      v: 1,
      token: guest,
      type: "answer",
      sdp: SDP_ANSWER,
      candidates: [cand(1)],
    }),
    409,
    "no_offer",
  );
  assert.equal((await get(s.url, `/rooms/${r.code}/candidates`, tok(r.host))).body.lastSeq, 0);
});

test("watch: answers at once with news or without cursors; bad cursors are 400", async () => {
  const r = await createWithOffer();
  const j = await fastJoin(r);
  const guest = j.body.guestToken as string;
  const watch = (token: string, body: Record<string, unknown>) =>
    simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token, ...body });
  for (const bad of [{ version: -1 }, { since: "1" }, { wait: 1.5 }, { for: "candidates" }, { version: 2 ** 60 }]) {
    expectError(await watch(guest, { wait: 0, ...bad }), 400, "bad_request");
  }
  expectError(await simple(s.url, `/rooms/${r.code}/watch`, "[1]"), 403, "forbidden");
  expectError(await simple(s.url, `/rooms/ZZZZZZ/watch`, { v: 1, token: guest }), 404, "not_found");
  const t0 = Date.now();
  const none = await watch(guest, { wait: 20 });
  expectStatus(none, 200);
  assert.ok(Date.now() - t0 < WAKE_MS, "no cursor: nothing to wait for");
  assert.equal(none.body.candidates, undefined);
  assert.equal(none.body.room.version, 2);
  // The guest's offer is there already: for "offer" answers at once.
  const off = await watch(guest, { for: "offer", since: 0, wait: 20 });
  assert.ok(Date.now() - t0 < 2 * WAKE_MS);
  assert.deepEqual(off.body.room.offer, { type: "offer", sdp: SDP_OFFER });
  assert.deepEqual(off.body.candidates, { items: [], mode: "delta", lastSeq: 0, complete: false });
  // An older version answers at once; the current one with wait 0 too.
  assert.equal((await watch(r.host, { version: 1, wait: 20 })).body.room.version, 2);
  assert.equal((await watch(r.host, { version: 2, wait: 0 })).body.room.version, 2);
});

test("watch: held until news (version, candidates, end mark), or until wait runs out", async () => {
  const r = await createWithOffer();
  const guest = (await fastJoin(r)).body.guestToken as string;
  const watch = (token: string, body: Record<string, unknown>) =>
    simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token, ...body });

  // Candidates wake a watch on `since`.
  const w1 = track(watch(guest, { since: 0, wait: 10 }));
  await sleep(150);
  assert.ok(w1.pending());
  expectStatus(await simple(s.url, `/rooms/${r.code}/candidate`, { v: 1, token: r.host, items: [cand(1)] }), 204);
  const t1 = Date.now();
  const got1 = await w1.done;
  assert.ok(Date.now() - t1 < WAKE_MS);
  assert.deepEqual(got1.body.candidates.items, [cand(1)]);

  // Own candidates do not wake one's own watch; the other side's end mark does.
  const w2 = track(watch(guest, { since: 1, wait: 10 }));
  expectStatus(await simple(s.url, `/rooms/${r.code}/candidate`, { v: 1, token: guest, items: [cand(50)] }), 204);
  await sleep(150);
  assert.ok(w2.pending(), "own candidates are not news");
  expectStatus(await simple(s.url, `/rooms/${r.code}/candidate`, { v: 1, token: r.host, end: true }), 204);
  const got2 = await w2.done;
  assert.deepEqual(got2.body.candidates, { items: [], mode: "delta", lastSeq: 1, complete: true });

  // A version cursor wakes on the answer.
  const w3 = track(watch(r.host, { version: 2, wait: 10 }));
  await sleep(150);
  assert.ok(w3.pending());
  expectStatus(
    await simple(s.url, `/rooms/${r.code}/answer`, { v: 1, token: guest, type: "answer", sdp: SDP_ANSWER }),
    204,
  );
  assert.equal((await w3.done).body.room.status, "paired");

  // Nothing new: the hold ends at `wait` with the unchanged room.
  const t4 = Date.now();
  const w4 = await watch(r.host, { version: 3, since: 1, wait: 1 });
  expectStatus(w4, 200);
  assert.ok(Date.now() - t4 >= 900, "held about a second");
  assert.equal(w4.body.room.version, 3);

  // A close wakes every watch with 410.
  const w5 = track(watch(guest, { version: 3, wait: 10 }));
  await sleep(100);
  expectStatus(await simple(s.url, `/rooms/${r.code}/close`, { v: 1, token: r.host }), 204);
  expectError(await w5.done, 410, "closed");
});

test("offer-watch: the host's first offer rides on its watch, wakes a guest waiting for it, is not replaced", async () => {
  const c = await simple(s.url, "/rooms", { v: 1, hostUserName: "Ann" });
  expectStatus(c, 201);
  const r = { code: c.body.code as string, host: c.body.ownerToken as string, joinCode: c.body.joinCode as string };
  const watch = (token: string, body: Record<string, unknown>) =>
    simple(s.url, `/rooms/${r.code}/watch`, { v: 1, token, ...body });
  const j = await fastJoin(r);
  assert.equal(j.body.room.offer, null, "no offer yet");
  const guest = j.body.guestToken as string;
  const g = track(watch(guest, { for: "offer", since: 0, wait: 10 }));
  await sleep(150);
  assert.ok(g.pending());

  // Refused offers store nothing and answer as /offer would; a guest may not send one.
  expectError(await watch(r.host, { offer: { type: "offer", sdp: "nope" }, wait: 0 }), 400, "bad_sdp");
  expectError(await watch(r.host, { offer: "v=0", wait: 0 }), 400, "bad_request");
  expectError(await watch(guest, { offer: { type: "offer", sdp: SDP_OFFER }, wait: 0 }), 403, "forbidden");
  assert.ok(g.pending(), "nothing stored");

  // The host's watch stores it, then holds for the answer (its own offer is no news to it).
  const h = track(watch(r.host, { offer: { type: "offer", sdp: SDP_OFFER }, version: 2, for: "answer", wait: 10 }));
  const t0 = Date.now();
  const got = await g.done;
  assert.ok(Date.now() - t0 < WAKE_MS, "the guest's wait for the offer wakes");
  assert.deepEqual(got.body.room.offer, { type: "offer", sdp: SDP_OFFER });
  assert.equal(got.body.room.version, 3);
  await sleep(150);
  assert.ok(h.pending(), "the host waits for the answer");

  // A watch sent again with another offer (a retry after a lost reply) does not replace it.
  const again = await watch(r.host, { offer: { type: "offer", sdp: `${SDP_OFFER}a=x\r\n` }, wait: 0 });
  expectStatus(again, 200);
  assert.deepEqual(again.body.room.offer, { type: "offer", sdp: SDP_OFFER });
  assert.equal(again.body.room.version, 3);

  expectStatus(
    await simple(s.url, `/rooms/${r.code}/answer`, { v: 1, token: guest, type: "answer", sdp: SDP_ANSWER }),
    204,
  );
  assert.equal((await h.done).body.room.answer.sdp, SDP_ANSWER);
});

test("offer-watch off: an offer on a watch is an unknown field (ignored)", async () => {
  const s2 = await startServer({ REGISTRY_FEATURES: "batch,end,restart,fast,ice" });
  try {
    const c = await simple(s2.url, "/rooms", { v: 1, hostUserName: "Ann" });
    expectStatus(c, 201);
    assert.ok(!(c.headers.get("x-registry-features") ?? "").includes("offer-watch"));
    const w = await simple(s2.url, `/rooms/${c.body.code}/watch`, {
      v: 1,
      token: c.body.ownerToken,
      offer: { type: "offer", sdp: SDP_OFFER },
      wait: 0,
    });
    expectStatus(w, 200);
    assert.equal(w.body.room.offer, null);
  } finally {
    await s2.close();
  }
});

test("without the feature: the simple form is refused, no watch, join and create as the MVP", async () => {
  for (const features of ["none", "longpoll,delta,batch,end,restart"]) {
    const s2 = await startServer({ REGISTRY_FEATURES: features });
    try {
      expectError(await simple(s2.url, "/rooms", { v: 1, hostUserName: "Ann" }), 403, "forbidden");
      // With the header a text/plain body is still not JSON to an MVP server.
      expectError(
        await simple(s2.url, "/rooms", { hostUserName: "Ann" }, { "x-registry-version": "1" }),
        400,
        "bad_request",
      );
      const c = await post(s2.url, "/rooms", { hostUserName: "Ann", offer: { type: "offer", sdp: SDP_OFFER } });
      expectStatus(c, 201);
      const room = c.body;
      assert.equal(
        (await get(s2.url, `/rooms/${room.code}`, tok(room.ownerToken))).body.offer,
        null,
        "offer in create ignored",
      );
      expectError(
        await post(s2.url, `/rooms/${room.code}/watch`, { version: 0 }, tok(room.ownerToken)),
        404,
        "not_found",
      );
      const j = await post(s2.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" });
      assert.deepEqual(Object.keys(j.body).sort(), ["expiresAt", "guestToken"]);
      expectStatus(
        await post(s2.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)),
        204,
      );
      // Candidates and since in an answer are unknown fields there: ignored, 204, nothing stored.
      const a = await post(
        s2.url,
        `/rooms/${room.code}/answer`,
        { type: "answer", sdp: SDP_ANSWER, candidates: [cand(1)], since: 0 },
        tok(j.body.guestToken),
      );
      expectStatus(a, 204);
      assert.equal((await get(s2.url, `/rooms/${room.code}/candidates`, tok(room.ownerToken))).body.lastSeq, 0);
    } finally {
      await s2.close();
    }
  }
});

test("ceilings: a /watch that waits counts as a long-poll (MAX_LONGPOLLS_PER_ROOM); an offer with the room and an answer with candidates count towards MAX_ROOM_BYTES", async () => {
  const s2 = await startServer({ MAX_LONGPOLLS_PER_ROOM: "2", LONGPOLL_MAX_SEC: "3", MAX_ROOM_BYTES: "4000" });
  try {
    const r = await createWithOffer(s2.url);
    const watch = (body: Record<string, unknown>) =>
      simple(s2.url, `/rooms/${r.code}/watch`, { v: 1, token: r.host, ...body });
    const held = [watch({ for: "answer", wait: 3 }), watch({ for: "answer", wait: 3 })];
    await sleep(300);
    const third = await watch({ for: "answer", wait: 3 });
    expectError(third, 429, "rate_limited");
    assert.equal(third.headers.get("retry-after"), String(third.body.error.retryAfterSec));
    // Not a long-poll: answered as usual.
    expectStatus(await watch({ version: 0 }), 200);
    const guest = (await fastJoin(r, s2.url)).body.guestToken as string;
    // 40 long candidates would pass the room's 4000 characters: the answer is refused whole.
    const long = (i: number) => ({
      candidate: `candidate:${i} 1 udp 2122260223 192.168.1.${i % 250} ${50000 + i} typ host ${"x".repeat(90)}`,
      sdpMid: "0",
      sdpMLineIndex: 0,
    });
    const big = await simple(s2.url, `/rooms/${r.code}/answer`, {
      v: 1,
      token: guest,
      type: "answer",
      sdp: SDP_ANSWER,
      candidates: Array.from({ length: 40 }, (_, i) => long(i)),
    });
    expectError(big, 413, "body_too_large");
    const snap = await get(s2.url, `/rooms/${r.code}`, tok(r.host));
    assert.equal(snap.body.answer, null);
    assert.equal((await get(s2.url, `/rooms/${r.code}/candidates`, tok(r.host))).body.lastSeq, 0);
    expectStatus(
      await simple(s2.url, `/rooms/${r.code}/answer`, {
        v: 1,
        token: guest,
        type: "answer",
        sdp: SDP_ANSWER,
        candidates: [cand(1)],
      }),
      204,
    );
    for (const h of await Promise.all(held)) expectStatus(h, 200);
    // An offer larger than the room may hold is refused with the room, which is not created.
    const offer = { type: "offer", sdp: `${SDP_OFFER}a=x:${"y".repeat(4000)}\r\n` };
    expectError(await simple(s2.url, "/rooms", { v: 1, hostUserName: "Ann", offer }), 413, "body_too_large");
  } finally {
    await s2.close();
  }
});
