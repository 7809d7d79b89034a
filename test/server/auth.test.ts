/** Tokens and roles, join codes (normalisation, wrong-code lock), and the §6 check order. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { LOOPBACK_PROXY, fromIp, startServer, type TestServer } from "./harness.ts";
import { CONFIG_DEFAULTS } from "../../src/protocol/index.ts";
import { SDP_ANSWER, SDP_OFFER, cand, createRoom, expectError, expectStatus, get, joinRoom, post, req, tok, type Room } from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

test("token and role matrix", async () => {
  const room = await createRoom(s.url);
  const other = await createRoom(s.url);
  const otherGuest = await joinRoom(s.url, other);
  const guestToken = await joinRoom(s.url, room);
  const c = room.code;
  const bad: Array<[string, Record<string, string>]> = [
    ["none", {}],
    ["empty", { "x-access-token": "" }],
    ["wrong", tok("A".repeat(43))],
    ["huge", tok("A".repeat(5000))],
    ["other room's owner", tok(other.ownerToken)],
    ["other room's guest", tok(otherGuest)],
    ["the join code", tok(room.joinCode)],
  ];
  for (const [name, t] of bad) {
    for (const path of [`/rooms/${c}`, `/rooms/${c}/candidates`]) {
      const r = await get(s.url, path, t);
      expectError(r, 403, "forbidden");
      assert.ok(!r.text.includes(room.ownerToken) && !r.text.includes(guestToken), name);
    }
    expectError(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER }, t), 403, "forbidden");
    expectError(await post(s.url, `/rooms/${c}/answer`, { type: "answer", sdp: SDP_ANSWER }, t), 403, "forbidden");
    expectError(await post(s.url, `/rooms/${c}/candidate`, cand(1), t), 403, "forbidden");
    expectError(await post(s.url, `/rooms/${c}/close`, {}, t), 403, "forbidden");
  }
  const host = tok(room.ownerToken);
  const guest = tok(guestToken);
  // Wrong role.
  expectError(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER }, guest), 403, "forbidden");
  expectStatus(await post(s.url, `/rooms/${c}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectError(await post(s.url, `/rooms/${c}/answer`, { type: "answer", sdp: SDP_ANSWER }, host), 403, "forbidden");
  // Both roles may read and post candidates.
  for (const t of [host, guest]) {
    expectStatus(await get(s.url, `/rooms/${c}`, t), 200);
    expectStatus(await get(s.url, `/rooms/${c}/candidates`, t), 200);
    expectStatus(await post(s.url, `/rooms/${c}/candidate`, cand(1), t), 204);
  }
  expectStatus(await post(s.url, `/rooms/${c}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  // The guest may close too.
  expectStatus(await post(s.url, `/rooms/${c}/close`, {}, guest), 204);
  // Nothing the refused requests did leaked into the room: the guest's side got one candidate.
});

/** Creates rooms until one's join code satisfies `pred` (codes are random). */
async function roomWhere(pred: (joinCode: string) => boolean): Promise<Room> {
  for (let i = 0; i < 300; i++) {
    const r = await createRoom(s.url);
    if (pred(r.joinCode)) return r;
  }
  throw new Error("no such join code in 300 rooms");
}

test("join code: any case, '-' and spaces ignored, O→0, I/L→1", async () => {
  const room = await roomWhere((j) => /[A-Z]/.test(j) && j.includes("0") && j.includes("1"));
  const j = room.joinCode;
  const variants = [
    j.toLowerCase(),
    `${j.slice(0, 4)}-${j.slice(4)}`,
    ` ${j.slice(0, 4)} ${j.slice(4)} `,
    `${j.slice(0, 2)}-${j.slice(2, 5)} - ${j.slice(5)}`,
    j.replace(/0/g, "O"),
    j.replace(/0/g, "o"),
    j.replace(/1/g, "I"),
    j.replace(/1/g, "L"),
    j.replace(/1/g, "l").toLowerCase(),
    j.replace(/1/g, "i"),
  ];
  // The first variant joins; the others, being right, then meet the state check (409),
  // never the join-code check (403).
  const first = await post(s.url, `/rooms/${room.code}/join`, { joinCode: variants[0], guestUserName: "Bob" });
  expectStatus(first, 200);
  for (const v of variants.slice(1)) {
    expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: v, guestUserName: "Eve" }), 409, "not_open");
  }
  // And a one-character change is wrong.
  const wrongChar = j[0] === "2" ? "3" : "2";
  expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: wrongChar + j.slice(1), guestUserName: "Eve" }), 403, "bad_join_code");
});

test("wrong join codes from one source: 5 answer 403, then that source gets 429 (right code too); the real guest still joins", async () => {
  const s2 = await startServer({ ...LOOPBACK_PROXY });
  try {
    const room = await createRoom(s2.url);
    const eve = fromIp("198.51.100.66");
    const wrong = room.joinCode[0] === "2" ? "3" + room.joinCode.slice(1) : "2" + room.joinCode.slice(1);
    const wrongs = [wrong, "hello", "", "ZZZZZZZZZZZZ", wrong];
    assert.equal(wrongs.length, CONFIG_DEFAULTS.LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN);
    for (const w of wrongs) {
      const r = await post(s2.url, `/rooms/${room.code}/join`, { joinCode: w, guestUserName: "Eve" }, eve);
      expectError(r, 403, "bad_join_code");
      assert.ok(!r.text.includes(room.joinCode), "never echoes the join code");
    }
    // Eve is out, whatever she sends: no oracle for her sixth guess.
    for (const joinCode of [wrong, room.joinCode]) {
      const r = await post(s2.url, `/rooms/${room.code}/join`, { joinCode, guestUserName: "Eve" }, eve);
      expectError(r, 429, "rate_limited");
      assert.ok(r.body.error.retryAfterSec >= 1 && r.body.error.retryAfterSec <= 60, r.text);
      assert.equal(r.body.error.retryable, true);
      assert.equal(r.headers.get("retry-after"), String(r.body.error.retryAfterSec));
    }
    // The real guest, from another address, is not locked out by her.
    expectStatus(await post(s2.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }, fromIp("192.0.2.7")), 200);
    // Another room is not affected for Eve either (the count is per room and source).
    const other = await createRoom(s2.url);
    expectError(await post(s2.url, `/rooms/${other.code}/join`, { joinCode: wrong, guestUserName: "Eve" }, eve), 403, "bad_join_code");
  } finally {
    await s2.close();
  }
});

test("a stranger who keeps sending wrong codes (every minute, for ever) never keeps the real guest out", async () => {
  // Eve sends her whole budget and more, again and again; the room's budget stays far away.
  const s2 = await startServer({ ...LOOPBACK_PROXY });
  try {
    const room = await createRoom(s2.url);
    const eve = fromIp("2001:db8:1:2::66");
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      // Other addresses in Eve's /64 are Eve too.
      const r = await post(s2.url, `/rooms/${room.code}/join`, { joinCode: "00000000", guestUserName: "Eve" }, i % 2 ? eve : fromIp(`2001:db8:1:2::${(i + 1).toString(16)}`));
      if (r.status === 429) refused++;
      else expectError(r, 403, "bad_join_code");
    }
    assert.equal(refused, 40 - CONFIG_DEFAULTS.LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN);
    expectStatus(await post(s2.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }, fromIp("2001:db8:9::1")), 200);
  } finally {
    await s2.close();
  }
});

test("the room's budget of wrong codes (all sources): past it every join is 429 until the window frees", async () => {
  const s2 = await startServer({ ...LOOPBACK_PROXY, LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "4", LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN: "2" });
  try {
    const room = await createRoom(s2.url);
    const wrong = (n: number) => post(s2.url, `/rooms/${room.code}/join`, { joinCode: "00000000", guestUserName: "Eve" }, fromIp(`203.0.113.${n}`));
    expectError(await wrong(1), 403, "bad_join_code");
    expectError(await wrong(1), 403, "bad_join_code");
    expectError(await wrong(1), 429, "rate_limited"); // source 1 is spent; the room is not
    expectError(await wrong(2), 403, "bad_join_code");
    expectError(await wrong(2), 403, "bad_join_code"); // two sources: the room's 4
    const right = await post(s2.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }, fromIp("192.0.2.7"));
    expectError(right, 429, "rate_limited");
    assert.ok(right.body.error.retryAfterSec >= 1 && right.body.error.retryAfterSec <= 60);
  } finally {
    await s2.close();
  }
});

test("the wrong-code limits can be switched off (0)", async () => {
  const s2 = await startServer({ LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "0", LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN: "0" });
  try {
    const room = await createRoom(s2.url);
    for (let i = 0; i < 12; i++) expectError(await post(s2.url, `/rooms/${room.code}/join`, { joinCode: "00000000", guestUserName: "Eve" }), 403, "bad_join_code");
    expectStatus(await post(s2.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }), 200);
  } finally {
    await s2.close();
  }
});

test("check order (§6)", async (t) => {
  // Limits on, tiny, so each 429 step can be provoked; fromIp() picks distinct "IPs".
  const s2 = await startServer({ ...LOOPBACK_PROXY, LIMIT_CREATE_PER_MIN: "1", LIMIT_JOIN_PER_MIN: "1", LIMIT_PUBLIC_PER_MIN: "1", LIMIT_TOKEN_PER_MIN: "3" });
  const ip = (n: number) => fromIp(`10.0.0.${n}`);
  try {
    const huge = JSON.stringify({ hostUserName: "a", pad: "x".repeat(70_000) });
    await t.test("route/method before version header", async () => {
      const r = await req(`${s2.url}/rooms`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
      expectError(r, 405, "method_not_allowed");
      expectError(await req(`${s2.url}/nowhere`, { method: "POST", body: "{" }), 404, "not_found");
    });
    await t.test("version header before body size", async () => {
      const r = await req(`${s2.url}/rooms`, { method: "POST", headers: { "content-type": "application/json", ...ip(1) }, body: huge });
      expectError(r, 403, "forbidden");
      const r2 = await req(`${s2.url}/rooms`, { method: "POST", headers: { "content-type": "application/json", "x-registry-version": "9", ...ip(1) }, body: huge });
      expectError(r2, 400, "bad_request");
    });
    await t.test("body size before per-IP limits", async () => {
      expectStatus(await post(s2.url, "/rooms", { hostUserName: "a" }, ip(2)), 201);
      expectError(await post(s2.url, "/rooms", { hostUserName: "a" }, ip(2)), 429, "rate_limited");
      expectError(await post(s2.url, "/rooms", huge, ip(2)), 413, "body_too_large");
    });
    await t.test("per-IP limit before body validation and before room exists", async () => {
      expectError(await post(s2.url, "/rooms", "{nope", ip(2)), 429, "rate_limited");
      expectError(await post(s2.url, "/rooms/ZZZZZZ/join", { joinCode: "x", guestUserName: "y" }, ip(3)), 404, "not_found");
      expectError(await post(s2.url, "/rooms/ZZZZZZ/join", { joinCode: "x", guestUserName: "y" }, ip(3)), 429, "rate_limited");
      expectError(await get(s2.url, "/rooms/ZZZZZZ/public", ip(3)), 404, "not_found");
      expectError(await get(s2.url, "/rooms/ZZZZZZ/public", ip(3)), 429, "rate_limited");
    });
    const created = await post(s2.url, "/rooms", { hostUserName: "a" }, ip(4));
    expectStatus(created, 201);
    const room = created.body as Room;
    await t.test("room exists before token; closed before token", async () => {
      expectError(await post(s2.url, "/rooms/ZZZZZZ/offer", "{nope", tok("x")), 404, "not_found");
    });
    await t.test("token before per-token limit and before body validation", async () => {
      // Malformed JSON with a wrong token is 403, not 400.
      expectError(await post(s2.url, `/rooms/${room.code}/offer`, "{nope", tok("wrong")), 403, "forbidden");
      expectError(await post(s2.url, `/rooms/${room.code}/candidate`, "{nope", {}), 403, "forbidden");
      // Wrong role before body too.
      expectError(await post(s2.url, `/rooms/${room.code}/answer`, "{nope", tok(room.ownerToken)), 403, "forbidden");
    });
    await t.test("body validation before state", async () => {
      // Right token, malformed JSON: 400 (counts 1 of the 3 token requests).
      expectError(await post(s2.url, `/rooms/${room.code}/offer`, "{nope", tok(room.ownerToken)), 400, "bad_request");
      expectError(await post(s2.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: "nope" }, tok(room.ownerToken)), 400, "bad_sdp");
    });
    await t.test("per-token limit before body validation; wrong tokens are 403 even then", async () => {
      expectStatus(await get(s2.url, `/rooms/${room.code}`, tok(room.ownerToken)), 200);
      const limited = await post(s2.url, `/rooms/${room.code}/offer`, "{nope", tok(room.ownerToken));
      expectError(limited, 429, "rate_limited");
      assert.ok(limited.body.error.retryAfterSec >= 1 && limited.body.error.retryAfterSec <= 60);
      expectError(await post(s2.url, `/rooms/${room.code}/offer`, "{nope", tok("wrong")), 403, "forbidden");
    });
  } finally {
    await s2.close();
  }
});

test("check order: closed (410) before token (403) and before body (400); state (409) last", async () => {
  const room = await createRoom(s.url);
  const host = tok(room.ownerToken);
  const guest = tok(await joinRoom(s.url, room));
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, guest), 204);
  // paired: a bad answer is 400 (validation) before 409 (state).
  expectError(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: "bad" }, guest), 400, "bad_sdp");
  expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: "bad" }, host), 400, "bad_sdp");
  // Join with a right code but a bad name to a paired room: 400 before 409.
  expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "" }), 400, "bad_request");
  expectStatus(await post(s.url, `/rooms/${room.code}/close`, {}, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/offer`, "{nope", tok("wrong")), 410, "closed");
  expectError(await post(s.url, `/rooms/${room.code}/join`, "{nope"), 410, "closed");
});
