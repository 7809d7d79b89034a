/**
 * Issue 13 §4: no room-existence oracle faster than the public lookup. Token routes answered
 * without a valid token (unknown 404, closed 410, live 403) count per client IP against
 * LIMIT_PROBE_PER_MIN; past it every such answer is the same 429, whatever the room.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { LOOPBACK_PROXY, fromIp, startServer, type TestServer } from "./harness.ts";
import { UNKNOWN_CODE, cand, createRoom, expectError, expectStatus, get, joinRoom, post, tok, type Res } from "./helpers.ts";

const LIMIT = 6;
let s: TestServer;
before(async () => {
  s = await startServer({ ...LOOPBACK_PROXY, LIMIT_PROBE_PER_MIN: String(LIMIT) });
});
after(() => s.close());

/** Every token route, without a token or with a wrong one. */
function probes(code: string, h: Record<string, string>): Array<() => Promise<Res>> {
  const wrong = { ...h, ...tok("A".repeat(43)) };
  return [
    () => get(s.url, `/rooms/${code}`, h),
    () => get(s.url, `/rooms/${code}/candidates`, wrong),
    () => post(s.url, `/rooms/${code}/candidate`, cand(1), h),
    () => post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: "v=0" }, wrong),
    () => post(s.url, `/rooms/${code}/close`, {}, h),
  ];
}

test("past the probe budget, unknown, live and closed rooms answer alike (429), on every token route", async () => {
  const live = await createRoom(s.url);
  const closed = await createRoom(s.url);
  expectStatus(await post(s.url, `/rooms/${closed.code}/close`, {}, tok(closed.ownerToken)), 204);
  const eve = fromIp("198.51.100.9");
  // Within the budget the answers differ (that is the budget's worth of information).
  const seen = new Set<number>();
  const first = [...probes(UNKNOWN_CODE, eve).slice(0, 2), ...probes(live.code, eve).slice(0, 2), ...probes(closed.code, eve).slice(0, 2)];
  assert.equal(first.length, LIMIT);
  for (const p of first) seen.add((await p()).status);
  assert.deepEqual([...seen].sort(), [403, 404, 410]);
  // Then nothing tells them apart.
  for (const code of [UNKNOWN_CODE, live.code, closed.code]) {
    for (const p of probes(code, eve)) {
      const r = await p();
      expectError(r, 429, "rate_limited");
      assert.ok(r.body.error.retryAfterSec >= 1 && r.body.error.retryAfterSec <= 60);
      assert.equal(r.headers.get("retry-after"), String(r.body.error.retryAfterSec));
    }
  }
  // The public lookup has its own budget (LIMIT_PUBLIC_PER_MIN), and other clients are not affected.
  expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}`, fromIp("198.51.100.10")), 404, "not_found");
});

test("requests with a valid token never count, even from a probing address", async () => {
  const room = await createRoom(s.url);
  const guest = await joinRoom(s.url, room);
  const ip = fromIp("198.51.100.20");
  for (let i = 0; i < LIMIT; i++) expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}`, ip), 404, "not_found");
  expectError(await get(s.url, `/rooms/${UNKNOWN_CODE}`, ip), 429, "rate_limited");
  for (let i = 0; i < LIMIT * 2; i++) {
    expectStatus(await get(s.url, `/rooms/${room.code}`, { ...ip, ...tok(room.ownerToken) }), 200);
    expectStatus(await get(s.url, `/rooms/${room.code}/candidates`, { ...ip, ...tok(guest) }), 200);
  }
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, { ...ip, ...tok(room.ownerToken) }), 204);
  // A token holder sees its room's 410 as before.
  expectError(await get(s.url, `/rooms/${room.code}`, { ...ip, ...tok(room.ownerToken) }), 410, "closed");
});
