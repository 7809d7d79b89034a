/** §3 lifecycle: TTL expiry in every state (short TTLs via config), tombstones 410 then 404. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./harness.ts";
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
} from "./helpers.ts";

// Short TTLs (fractions of a second are allowed) keep this file fast; the long ones are
// "never within this test".
const LONG = "30";

/** `closeReason`: what the players' 410 says (undefined: nothing, as after a plain /close). */
async function expectTombstone(
  url: string,
  code: string,
  tokens: Array<Record<string, string>>,
  joinCode: string,
  closeReason: "expired" | undefined,
) {
  for (const t of tokens) {
    const r = await get(url, `/rooms/${code}`, t);
    expectError(r, 410, "closed");
    assert.equal(r.body.error.closeReason, closeReason, "the players are told why the room closed");
    expectError(await get(url, `/rooms/${code}/candidates`, t), 410, "closed");
    expectError(await post(url, `/rooms/${code}/candidate`, cand(1), t), 410, "closed");
    expectStatus(await post(url, `/rooms/${code}/close`, {}, t), 204);
  }
  expectError(await post(url, `/rooms/${code}/join`, { joinCode, guestUserName: "x" }), 410, "closed");
  expectError(await get(url, `/rooms/${code}/public`), 404, "not_found");
}

async function expectGone(url: string, code: string, tokens: Array<Record<string, string>>, joinCode: string) {
  for (const t of tokens) {
    expectError(await get(url, `/rooms/${code}`, t), 404, "not_found");
    expectError(await post(url, `/rooms/${code}/close`, {}, t), 404, "not_found");
  }
  expectError(await post(url, `/rooms/${code}/join`, { joinCode, guestUserName: "x" }), 404, "not_found");
  expectError(await get(url, `/rooms/${code}/public`), 404, "not_found");
}

test("open room: expires after TTL_OPEN_SEC, tombstone 410 for TTL_CLOSED_SEC, then 404", async () => {
  const s = await startServer({
    TTL_OPEN_SEC: "0.6",
    TTL_JOINED_SEC: LONG,
    TTL_PAIRED_SEC: LONG,
    TTL_CLOSED_SEC: "1.2",
  });
  try {
    const t0 = Date.now();
    const room = await createRoom(s.url);
    assert.ok(Math.abs(room.expiresAt - (t0 + 600)) < 400, `expiresAt ${room.expiresAt - t0} ms after creation`);
    expectStatus(await get(s.url, `/rooms/${room.code}/public`), 200);
    await sleep(room.expiresAt - Date.now() + 150);
    await expectTombstone(s.url, room.code, [tok(room.ownerToken)], room.joinCode, "expired");
    await sleep(room.expiresAt + 1200 - Date.now() + 150);
    await expectGone(s.url, room.code, [tok(room.ownerToken)], room.joinCode);
  } finally {
    await s.close();
  }
});

test("joined room: TTL_JOINED_SEC from the join", async () => {
  const s = await startServer({
    TTL_OPEN_SEC: LONG,
    TTL_JOINED_SEC: "0.6",
    TTL_PAIRED_SEC: LONG,
    TTL_CLOSED_SEC: "1.2",
  });
  try {
    const room = await createRoom(s.url);
    const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" });
    expectStatus(j, 200);
    const guest = tok(j.body.guestToken);
    const host = tok(room.ownerToken);
    const snap = await get(s.url, `/rooms/${room.code}`, host);
    assert.equal(snap.body.expiresAt, j.body.expiresAt);
    assert.ok(j.body.expiresAt < room.expiresAt, "the joined TTL replaces the open one");
    await sleep(j.body.expiresAt - Date.now() + 150);
    await expectTombstone(s.url, room.code, [host, guest], room.joinCode, "expired");
    expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 410, "closed");
    await sleep(j.body.expiresAt + 1200 - Date.now() + 150);
    await expectGone(s.url, room.code, [host, guest], room.joinCode);
  } finally {
    await s.close();
  }
});

test("paired room: TTL_PAIRED_SEC from the answer", async () => {
  const s = await startServer({
    TTL_OPEN_SEC: LONG,
    TTL_JOINED_SEC: LONG,
    TTL_PAIRED_SEC: "0.6",
    TTL_CLOSED_SEC: "1.2",
  });
  try {
    const room = await createRoom(s.url);
    const host = tok(room.ownerToken);
    const guest = tok(await joinRoom(s.url, room));
    expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
    expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
    const snap = await get(s.url, `/rooms/${room.code}`, host);
    assert.equal(snap.body.status, "paired");
    assert.ok(snap.body.expiresAt - Date.now() <= 600);
    await sleep(snap.body.expiresAt - Date.now() + 150);
    await expectTombstone(s.url, room.code, [host, guest], room.joinCode, "expired");
    expectError(
      await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest),
      410,
      "closed",
    );
    await sleep(snap.body.expiresAt + 1200 - Date.now() + 150);
    await expectGone(s.url, room.code, [host, guest], room.joinCode);
  } finally {
    await s.close();
  }
});

test("closed room: tombstone for TTL_CLOSED_SEC after close, then 404", async () => {
  const s = await startServer({ TTL_CLOSED_SEC: "1.2" });
  try {
    const room = await createRoom(s.url);
    const host = tok(room.ownerToken);
    const guest = tok(await joinRoom(s.url, room));
    const closedAt = Date.now();
    expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, guest), 204);
    await expectTombstone(s.url, room.code, [host, guest], room.joinCode, undefined);
    await sleep(closedAt + 1200 - Date.now() + 200);
    await expectGone(s.url, room.code, [host, guest], room.joinCode);
  } finally {
    await s.close();
  }
});

test("TTL_CLOSED_SEC=0: a closed room is gone at once", async () => {
  const s = await startServer({ TTL_CLOSED_SEC: "0" });
  try {
    const room = await createRoom(s.url);
    expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, tok(room.ownerToken)), 204);
    expectError(await get(s.url, `/rooms/${room.code}`, tok(room.ownerToken)), 404, "not_found");
  } finally {
    await s.close();
  }
});

test("a long-poll held on a room that expires is answered 410 (not held to its deadline)", async () => {
  const s = await startServer({ TTL_OPEN_SEC: LONG, TTL_JOINED_SEC: "0.5", TTL_CLOSED_SEC: LONG });
  try {
    const room = await createRoom(s.url);
    const guest = tok(await joinRoom(s.url, room));
    const t0 = Date.now();
    const r = await get(s.url, `/rooms/${room.code}?since=2&wait=20`, guest, { timeoutMs: 15_000 });
    expectError(r, 410, "closed");
    // Expiry at 0.5 s, noticed by the runtime's sweep (Node: every second).
    assert.ok(Date.now() - t0 < 4000, `answered after ${Date.now() - t0} ms`);
  } finally {
    await s.close();
  }
});
