/** Concurrency: parallel joins, candidate posts and answers against one room. */
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
  s = await startServer();
});
after(() => s.close());

test("20 parallel joins with the right code: exactly one 200, the rest 409 not_open", async () => {
  const room = await createRoom(s.url);
  const rs = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: `g${i}` }),
    ),
  );
  const ok = rs.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, rs.map((r) => r.status).join(","));
  for (const r of rs) if (r.status !== 200) expectError(r, 409, "not_open");
  // The winner's token and name are the room's guest.
  const snap = await get(s.url, `/rooms/${room.code}`, tok(ok[0]!.body.guestToken));
  expectStatus(snap, 200);
  assert.equal(snap.body.guestUserName, `g${rs.indexOf(ok[0]!)}`);
  assert.equal(snap.body.version, 2, "one join, one version bump");
});

test("50 parallel candidate posts (40 distinct + 10 repeats): none lost, none doubled", async () => {
  const room = await createRoom(s.url);
  const guest = tok(await joinRoom(s.url, room));
  const host = tok(room.ownerToken);
  const posts = [
    ...Array.from({ length: 40 }, (_, i) => cand(i)),
    ...Array.from({ length: 10 }, (_, i) => cand(i * 3)),
  ];
  const rs = await Promise.all(posts.map((c) => post(s.url, `/rooms/${room.code}/candidate`, c, host)));
  for (const r of rs) expectStatus(r, 204);
  const got = await get(s.url, `/rooms/${room.code}/candidates`, guest);
  assert.equal(got.body.items.length, 40);
  assert.equal(got.body.lastSeq, 40);
  const seen = new Set(got.body.items.map((c: { candidate: string }) => c.candidate));
  assert.equal(seen.size, 40);
  for (let i = 0; i < 40; i++) assert.ok(seen.has(cand(i).candidate), `candidate ${i} lost`);
  // Delta reads in any split return each exactly once.
  const a = await get(s.url, `/rooms/${room.code}/candidates?since=0`, guest);
  const b = await get(s.url, `/rooms/${room.code}/candidates?since=20`, guest);
  assert.equal(a.body.items.length, 40);
  assert.equal(b.body.items.length, 20);
});

test("50 parallel distinct candidate posts: exactly 40 stored, 10 refused with 409, and they are the refused ones", async () => {
  const room = await createRoom(s.url);
  const guest = tok(await joinRoom(s.url, room));
  const host = tok(room.ownerToken);
  const posts = Array.from({ length: 50 }, (_, i) => cand(i));
  const rs = await Promise.all(posts.map((c) => post(s.url, `/rooms/${room.code}/candidate`, c, host)));
  const accepted = posts.filter((_, i) => rs[i]!.status === 204).map((c) => c.candidate);
  assert.equal(accepted.length, 40);
  for (const r of rs) if (r.status !== 204) expectError(r, 409, "too_many_candidates");
  const got = await get(s.url, `/rooms/${room.code}/candidates`, guest);
  assert.deepEqual(new Set(got.body.items.map((c: { candidate: string }) => c.candidate)), new Set(accepted));
});

test("50 parallel posts from both sides at once: each side gets its own, numbered 1..n", async () => {
  const room = await createRoom(s.url);
  const guest = tok(await joinRoom(s.url, room));
  const host = tok(room.ownerToken);
  const rs = await Promise.all(
    Array.from({ length: 50 }, (_, i) => post(s.url, `/rooms/${room.code}/candidate`, cand(i), i % 2 ? guest : host)),
  );
  for (const r of rs) expectStatus(r, 204);
  const forGuest = await get(s.url, `/rooms/${room.code}/candidates`, guest);
  const forHost = await get(s.url, `/rooms/${room.code}/candidates`, host);
  assert.equal(forGuest.body.items.length, 25);
  assert.equal(forHost.body.items.length, 25);
  assert.equal(forGuest.body.lastSeq, 25);
  assert.equal(forHost.body.lastSeq, 25);
});

test("20 parallel answers: exactly one wins, the rest 409 already_paired", async () => {
  const room = await createRoom(s.url);
  const guest = tok(await joinRoom(s.url, room));
  expectStatus(
    await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)),
    204,
  );
  const rs = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: `${SDP_ANSWER}a=n:${i}\r\n` }, guest),
    ),
  );
  const won = rs.findIndex((r) => r.status === 204);
  assert.equal(rs.filter((r) => r.status === 204).length, 1, rs.map((r) => r.status).join(","));
  for (const r of rs) if (r.status !== 204) expectError(r, 409, "already_paired");
  const snap = await get(s.url, `/rooms/${room.code}`, guest);
  assert.equal(snap.body.answer.sdp, `${SDP_ANSWER}a=n:${won}\r\n`);
  assert.equal(snap.body.version, 4);
});
