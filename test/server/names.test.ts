/** Issue 13 §6: user names are NFC-normalised and trimmed; invisible/control/bidi/blank names are 400; every answer is nosniff. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import { UNKNOWN_CODE, createRoom, expectError, expectStatus, get, post, req } from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const REFUSED: Array<[string, string]> = [
  ["whitespace only", "   \t "],
  ["ideographic spaces only", "\u3000\u3000"],
  ["Hangul filler", "\u3164"],
  ["Hangul filler inside", "Bo\u3164b"],
  ["half-width Hangul filler", "\uFFA0"],
  ["zero-width space", "a\u200Bb"],
  ["zero-width joiner alone", "\u200D"],
  ["word joiner", "a\u2060b"],
  ["tag characters", "x\u{E0041}\u{E0042}"],
  ["right-to-left override", "\u202Eevil"],
  ["right-to-left isolate", "a\u2067b"],
  ["left-to-right mark", "a\u200Eb"],
  ["soft hyphen", "a\u00ADb"],
  ["braille blank", "\u2800"],
  ["NUL", "a\u0000b"],
  ["newline", "a\nb"],
  ["line separator", "a\u2028b"],
  ["lone surrogate", "a\uD800b"],
  ["too long after NFC", "x".repeat(33)],
  ["empty", ""],
];

test("names that show nothing, or hide or reorder text, are refused with 400 (create and join)", async () => {
  const room = await createRoom(s.url);
  for (const [why, name] of REFUSED) {
    const r = await post(s.url, "/rooms", { hostUserName: name });
    expectError(r, 400, "bad_request");
    assert.ok(!r.text.includes(name) || name === "", `${why}: never echoed`);
    expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: name }), 400, "bad_request");
  }
  // The room is still open: none of those joined it.
  expectStatus(await get(s.url, `/rooms/${room.code}/public`), 200);
});

test("names are stored NFC-normalised and trimmed; emoji sequences and scripts are fine", async () => {
  const cases: Array<[string, string]> = [
    ["  Zoe\u0301  ", "Zo\u00E9"],
    ["\uFEFFAlice", "Alice"],
    ["\u{1F468}\u200D\u{1F469}\u200D\u{1F467}", "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}"],
    ["\u2764\uFE0F Bo", "\u2764\uFE0F Bo"],
    ["\u{1F44D}\u{1F3FD}", "\u{1F44D}\u{1F3FD}"],
    ["東京", "東京"],
    ["<b>x</b>", "<b>x</b>"],
  ];
  for (const [input, stored] of cases) {
    const c = await post(s.url, "/rooms", { hostUserName: input });
    expectStatus(c, 201);
    const p = await get(s.url, `/rooms/${c.body.code}/public`);
    expectStatus(p, 200);
    assert.equal(p.body.hostUserName, stored, JSON.stringify(input));
    // JSON, never sniffed as markup.
    assert.match(p.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(p.headers.get("x-content-type-options"), "nosniff");
  }
  const room = await createRoom(s.url);
  const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: " Bo\u0308b " });
  expectStatus(j, 200);
  const snap = await get(s.url, `/rooms/${room.code}`, { "x-access-token": room.ownerToken });
  assert.equal(snap.body.guestUserName, "B\u00F6b");
});

test("every response carries X-Content-Type-Options: nosniff", async () => {
  const origin = { origin: "http://localhost:5173" };
  const answers = [
    await get(s.url, "/"),
    await get(s.url, "/health"),
    await req(`${s.url}/health`, { method: "HEAD" }),
    await get(s.url, "/nowhere"),
    await req(`${s.url}/rooms`, { method: "PUT" }),
    await get(s.url, `/rooms/${UNKNOWN_CODE}/public`),
    await post(s.url, "/rooms", { hostUserName: "a" }),
    await post(s.url, "/rooms", "x".repeat(70_000)),
    await post(s.url, "/rooms", "{nope"),
    await req(`${s.url}/rooms`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "POST" } }),
    await get(s.url, "/health", { origin: "https://evil.example" }),
    await get(s.url, "/", { origin: "https://evil.example" }),
  ];
  for (const r of answers) assert.equal(r.headers.get("x-content-type-options"), "nosniff", `status ${r.status}`);
});
