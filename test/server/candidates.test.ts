/** Candidates (§4, §5) and the batch / end / delta / restart extensions (§8). */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import { SDP_ANSWER, SDP_OFFER, cand, createRoom, expectError, expectStatus, get, joinRoom, pairedRoom, post, tok } from "./helpers.ts";
import { LIMITS } from "../../src/protocol/index.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

async function joined() {
  const room = await createRoom(s.url);
  const guest = await joinRoom(s.url, room);
  return { code: room.code, host: tok(room.ownerToken), guest: tok(guest) };
}

const candidates = (code: string, t: Record<string, string>, q = "") => get(s.url, `/rooms/${code}/candidates${q}`, t);

test("dedupe: the same (candidate, sdpMid, sdpMLineIndex) is accepted again and stored once", async () => {
  const { code, host, guest } = await joined();
  for (let i = 0; i < 3; i++) expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), host), 204);
  // Missing sdpMid / sdpMLineIndex equal null equal "" / -1 for the key.
  const bare = { candidate: "candidate:9 1 udp 1 1.1.1.1 9 typ host" };
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, bare, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { ...bare, sdpMid: null, sdpMLineIndex: null }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { ...bare, sdpMid: "" }, host), 204);
  // A different sdpMid or index is a different candidate.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { ...bare, sdpMid: "1" }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { ...bare, sdpMLineIndex: 1 }, host), 204);
  const r = await candidates(code, guest);
  assert.equal(r.body.items.length, 4);
  assert.equal(r.body.lastSeq, 4);
  // The other side's list is separate.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), guest), 204);
  assert.equal((await candidates(code, host)).body.items.length, 1);
});

test("libdatachannel's a=candidate: lines are accepted and stored as candidate: (one candidate with the plain form)", async () => {
  const { code, host, guest } = await joined();
  const sdpForm = (i: number) => ({ ...cand(i), candidate: `a=${cand(i).candidate}` });
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, sdpForm(1), host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [sdpForm(2), cand(2), sdpForm(3)] }, host), 204);
  const r = await candidates(code, guest);
  assert.deepEqual(r.body.items, [cand(1), cand(2), cand(3)]);
  assert.equal(r.body.lastSeq, 3);
  // Only that exact prefix: anything else that is not a candidate line is still refused.
  expectError(await post(s.url, `/rooms/${code}/candidate`, { candidate: "a=ice-ufrag:abcd" }, guest), 400, "bad_candidate");
  expectError(await post(s.url, `/rooms/${code}/candidate`, { items: [sdpForm(4), { candidate: "a=end-of-candidates" }] }, guest), 400, "bad_candidate");
});

test("40 distinct candidates per side: the 41st is 409 too_many_candidates; duplicates still 204", async () => {
  const { code, host, guest } = await joined();
  for (let i = 0; i < LIMITS.candidatesPerSide; i++) expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(i), host), 204);
  expectError(await post(s.url, `/rooms/${code}/candidate`, cand(1000), host), 409, "too_many_candidates");
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(5), host), 204);
  // The guest's side has its own 40.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1000), guest), 204);
  const r = await candidates(code, guest);
  assert.equal(r.body.items.length, 40);
  assert.equal(r.body.lastSeq, 40);
});

test("batch: up to 40 items, all or nothing, dedupe inside and against stored", async () => {
  const { code, host, guest } = await joined();
  const items = Array.from({ length: 40 }, (_, i) => cand(i));
  expectError(await post(s.url, `/rooms/${code}/candidate`, { items: [...items, cand(99)] }, host), 400, "bad_request");
  // One invalid item refuses the whole batch.
  expectError(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1), { candidate: "nope" }] }, host), 400, "bad_candidate");
  expectError(await post(s.url, `/rooms/${code}/candidate`, { items: "x" }, host), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1)], end: false }, host), 400, "bad_request");
  assert.equal((await candidates(code, guest)).body.lastSeq, 0, "nothing stored by refused batches");
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(0), cand(0), cand(1)] }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [] }, host), 204);
  let r = await candidates(code, guest);
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.lastSeq, 2);
  // 38 new + 2 already stored = 40: fits exactly.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: items.slice(0, 40) }, host), 204);
  r = await candidates(code, guest);
  assert.equal(r.body.items.length, 40);
  assert.equal(r.body.lastSeq, 40);
  // A batch that would pass the cap is refused whole.
  const s2 = await joined();
  expectStatus(await post(s.url, `/rooms/${s2.code}/candidate`, { items: items.slice(0, 30) }, s2.host), 204);
  expectError(await post(s.url, `/rooms/${s2.code}/candidate`, { items: Array.from({ length: 11 }, (_, i) => cand(100 + i)) }, s2.host), 409, "too_many_candidates");
  r = await candidates(s2.code, s2.guest);
  assert.equal(r.body.items.length, 30);
  expectStatus(await post(s.url, `/rooms/${s2.code}/candidate`, { items: Array.from({ length: 10 }, (_, i) => cand(100 + i)) }, s2.host), 204);
  assert.equal((await candidates(s2.code, s2.guest)).body.items.length, 40);
});

test("end: alone or in a batch marks complete for the other side", async () => {
  const { code, host, guest } = await joined();
  assert.equal((await candidates(code, guest)).body.complete, false);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1)], end: true }, host), 204);
  let r = await candidates(code, guest);
  assert.deepEqual({ n: r.body.items.length, complete: r.body.complete, lastSeq: r.body.lastSeq }, { n: 1, complete: true, lastSeq: 1 });
  // The host's own view of the guest is not complete.
  assert.equal((await candidates(code, host)).body.complete, false);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { end: true }, guest), 204);
  r = await candidates(code, host);
  assert.deepEqual(r.body, { items: [], mode: "full", lastSeq: 0, complete: true });
  // end must be exactly true.
  expectError(await post(s.url, `/rooms/${code}/candidate`, { end: false }, guest), 400, "bad_request");
  expectError(await post(s.url, `/rooms/${code}/candidate`, { end: "yes" }, guest), 400, "bad_request");
});

test("delta: since=N returns seq > N, lastSeq is the cursor, also when empty", async () => {
  const { code, host, guest } = await joined();
  let r = await candidates(code, guest, "?since=0");
  assert.deepEqual(r.body, { items: [], mode: "delta", lastSeq: 0, complete: false });
  for (let i = 1; i <= 3; i++) expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(i), host), 204);
  r = await candidates(code, guest, "?since=0");
  assert.equal(r.body.mode, "delta");
  assert.deepEqual(r.body.items.map((c: { candidate: string }) => c.candidate), [1, 2, 3].map((i) => cand(i).candidate));
  assert.equal(r.body.lastSeq, 3);
  r = await candidates(code, guest, "?since=2");
  assert.deepEqual(r.body.items.map((c: { candidate: string }) => c.candidate), [cand(3).candidate]);
  r = await candidates(code, guest, "?since=3");
  assert.deepEqual(r.body, { items: [], mode: "delta", lastSeq: 3, complete: false });
  // A duplicate gets no new sequence number.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(2), host), 204);
  assert.equal((await candidates(code, guest, "?since=3")).body.lastSeq, 3);
  for (const bad of ["?since=-1", "?since=abc", "?since=1.5", "?since=", "?since=1&wait=x", "?since=99999999999999999999"]) {
    expectError(await candidates(code, guest, bad), 400, "bad_request");
  }
});

test("offer replacement clears the host's candidates and end mark; numbering goes on", async () => {
  const { code, host, guest } = await joined();
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: [cand(1), cand(2)], end: true }, host), 204);
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(7), guest), 204);
  expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  let r = await candidates(code, guest);
  assert.deepEqual(r.body, { items: [], mode: "full", lastSeq: 2, complete: false }, "cleared, cursor kept");
  assert.deepEqual((await candidates(code, guest, "?since=2")).body, { items: [], mode: "delta", lastSeq: 2, complete: false });
  // The guest's candidates are untouched.
  assert.equal((await candidates(code, host)).body.items.length, 1);
  // New candidates continue at 3, and a previously stored one may come back.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, cand(1), host), 204);
  r = await candidates(code, guest, "?since=2");
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.lastSeq, 3);
  // After a clear the 40 cap counts what is stored now.
  expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: Array.from({ length: 39 }, (_, i) => cand(100 + i)) }, host), 204);
});

test("restart: while paired, clears answer, both sides' candidates and ends; status joined; guest answers again", async () => {
  const { room, host, guest } = await pairedRoom(s.url);
  const H = tok(host);
  const G = tok(guest);
  const c = room.code;
  expectStatus(await post(s.url, `/rooms/${c}/candidate`, { items: [cand(1), cand(2)], end: true }, H), 204);
  expectStatus(await post(s.url, `/rooms/${c}/candidate`, { items: [cand(3)], end: true }, G), 204);
  const before = (await get(s.url, `/rooms/${c}`, H)).body;
  const newSdp = SDP_OFFER + "a=ice-restart\r\n";
  expectStatus(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: newSdp, restart: true }, H), 204);
  const snap = (await get(s.url, `/rooms/${c}`, G)).body;
  assert.equal(snap.status, "joined");
  assert.equal(snap.answer, null);
  assert.equal(snap.offer.sdp, newSdp);
  assert.equal(snap.version, before.version + 1);
  assert.ok(snap.expiresAt <= Date.now() + 300_000 + 5_000, "joined TTL again");
  assert.deepEqual((await candidates(c, G)).body, { items: [], mode: "full", lastSeq: 2, complete: false });
  assert.deepEqual((await candidates(c, H)).body, { items: [], mode: "full", lastSeq: 1, complete: false });
  // The guest answers again; the new candidates continue the numbering.
  expectStatus(await post(s.url, `/rooms/${c}/answer`, { type: "answer", sdp: SDP_ANSWER }, G), 204);
  assert.equal((await get(s.url, `/rooms/${c}`, H)).body.status, "paired");
  expectStatus(await post(s.url, `/rooms/${c}/candidate`, cand(4), G), 204);
  assert.equal((await candidates(c, H, "?since=1")).body.lastSeq, 2);
});

test("restart: at most 5 per room (6th is 409 too_many_restarts); outside paired it is a plain offer", async () => {
  const { room, host, guest } = await pairedRoom(s.url);
  const H = tok(host);
  const G = tok(guest);
  const c = room.code;
  // restart:true while joined is an ordinary replacement and does not count.
  for (let i = 0; i < 5; i++) {
    expectStatus(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, H), 204);
    // Now joined: restart:true is a plain offer replacement (not counted).
    expectStatus(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, H), 204);
    expectStatus(await post(s.url, `/rooms/${c}/answer`, { type: "answer", sdp: SDP_ANSWER }, G), 204);
  }
  expectError(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, H), 409, "too_many_restarts");
  assert.equal((await get(s.url, `/rooms/${c}`, H)).body.status, "paired");
  // The guest can never restart.
  expectError(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, G), 403, "forbidden");
});

test("MAX_RESTARTS is configurable (1), and 0 switches the limit off", async () => {
  for (const [max, allowed] of [["1", 1], ["0", 8]] as const) {
    const s2 = await startServer({ MAX_RESTARTS: max });
    try {
      const { room, host, guest } = await pairedRoom(s2.url);
      for (let i = 0; i < allowed; i++) {
        expectStatus(await post(s2.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, tok(host)), 204);
        expectStatus(await post(s2.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, tok(guest)), 204);
      }
      const r = await post(s2.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: true }, tok(host));
      if (max === "1") expectError(r, 409, "too_many_restarts");
      else expectStatus(r, 204);
    } finally {
      await s2.close();
    }
  }
});
