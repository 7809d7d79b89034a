/**
 * Fuzz: random methods, paths, headers and bodies against a live Registry. Whatever comes
 * in: never a 5xx, never a hang (per-request timeout), errors always in the §6 envelope
 * with the status its code maps to, and the §1 headers on every response.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startServer, type TestServer } from "./harness.ts";
import { SDP_OFFER, cand, createRoom, joinRoom } from "./helpers.ts";
import { ERROR_STATUS, isErrorCode } from "../../src/protocol/index.ts";

let s: TestServer;
/** A pool of rooms (some get closed or locked by the fuzz itself, the rest stay usable). */
const rooms: Array<{ code: string; owner: string; guest: string }> = [];
before(async () => {
  // Default TTLs (nothing expires mid-run), rate limits off (harness defaults).
  // With coturn credentials configured, so create, join and ice-servers mint under fuzz too.
  s = await startServer({ TURN_URLS: "turn:turn.example.test:3478", TURN_SECRET: "fuzz-secret-0123456789" });
  for (let i = 0; i < 16; i++) {
    const room = await createRoom(s.url);
    rooms.push({ code: room.code, owner: room.ownerToken, guest: i % 4 === 0 ? "" : await joinRoom(s.url, room) });
  }
});
after(() => s.close());

const segment = fc.oneof(
  fc.constantFrom("rooms", "public", "join", "offer", "answer", "candidate", "candidates", "close", "ice-servers", "health", "", "..", "%2e%2e", "%00", "%ff", "ROOMS"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9A-Z]{6}$/),
);
const path = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("/rooms", "/rooms/@CODE@/join", "/rooms/@CODE@/offer", "/rooms/@CODE@/answer", "/rooms/@CODE@/candidate", "/rooms/@CODE@/close", "/rooms/@CODE@/ice-servers", "/rooms/@CODE@", "/rooms/@CODE@/candidates") },
  fc.constant("/"),
  fc.constant("/health"),
  fc.constant("/rooms"),
  fc.constantFrom("", "/public", "/join", "/offer", "/answer", "/candidate", "/candidates", "/close", "/ice-servers").map((p) => `/rooms/@CODE@${p}`),
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((a) => "/" + a.join("/")),
);
const query = fc.oneof(
  fc.constant(""),
  fc.constantFrom("?since=0", "?since=1&wait=1", "?wait=0", "?since=-1", "?since=1e9", "?since=99999999999999999999", "?wait=abc", "?since=0&since=1", "?x=%ff"),
  fc.string({ maxLength: 20 }).map((x) => "?" + encodeURIComponent(x)),
);
const deep = fc.integer({ min: 1, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n));
const deepObj = fc.integer({ min: 1, max: 10_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n));
const jsonish = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{"hostUserName":"a"}',
    '{"joinCode":"00000000","guestUserName":"x"}',
    JSON.stringify({ type: "offer", sdp: SDP_OFFER }),
    JSON.stringify({ type: "offer", sdp: SDP_OFFER, restart: true }),
    JSON.stringify({ type: "answer", sdp: SDP_OFFER }),
    JSON.stringify(cand(1)),
    JSON.stringify({ items: [cand(2), cand(3)], end: true }),
    JSON.stringify({ end: true }),
    '{"sdpMLineIndex": 1e400, "candidate": "candidate:1"}',
    '{"candidate": "candidate:1", "sdpMLineIndex": -0}',
    '{"hostUserName": "\\ud800"}',
    '{"__proto__": {"x": 1}, "constructor": {"prototype": 1}}',
    "{}",
    "",
    "null",
  ),
  fc.record({
    type: fc.oneof(fc.constant("offer"), fc.constant("answer"), fc.anything()),
    sdp: fc.oneof(fc.string().map((x) => "v=0" + x), fc.anything()),
    restart: fc.anything(),
    candidate: fc.oneof(fc.string().map((x) => "candidate:" + x), fc.anything()),
    sdpMid: fc.anything(),
    sdpMLineIndex: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String)),
    items: fc.anything(),
    end: fc.anything(),
    hostUserName: fc.string({ unit: "binary", maxLength: 40 }),
    guestUserName: fc.string({ unit: "binary", maxLength: 40 }),
    joinCode: fc.string(),
    reason: fc.anything(),
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
  deep,
  deepObj,
  fc.string({ unit: "binary", maxLength: 200 }),
);
const body = fc.oneof(
  jsonish.map((s) => new TextEncoder().encode(s)),
  fc.uint8Array({ maxLength: 2000 }),
  // Invalid UTF-8 inside otherwise JSON-looking text.
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => a.map((b) => 0x80 | (b & 0x7f)))).map(([bad]) => new Uint8Array([...new TextEncoder().encode('{"hostUserName":"'), ...bad, ...new TextEncoder().encode('"}')])),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => new Uint8Array(n).fill(0x20)),
);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
/** Mostly a plausible value (so requests get past the early checks and reach the room), sometimes absent or junk. */
function mostly<T>(plausible: fc.Arbitrary<T>, junk: fc.Arbitrary<string>): fc.Arbitrary<T | string | undefined> {
  return fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: junk });
}
const headers = fc.record({
  "content-type": mostly(fc.constantFrom("application/json", "application/json; charset=utf-8"), fc.oneof(fc.constantFrom("text/plain", "multipart/form-data", ""), headerValue)),
  "x-registry-version": mostly(fc.constant("1"), fc.oneof(fc.constantFrom("2", "", " 1 "), headerValue)),
  "x-access-token": mostly(fc.constantFrom("@OWNER@", "@GUEST@"), fc.oneof(fc.constantFrom("", "x", "A".repeat(5000)), headerValue)),
  origin: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constant("http://localhost:5173") }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom("http://evil.example", "null", "http://localhost.evil.example"), headerValue) }),
  "if-none-match": fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('"1"', '"2"', "*", 'W/"2"'), headerValue) }),
  "x-forwarded-for": fc.option(headerValue, { freq: 4 }),
});
const method = fc.oneof({ weight: 5, arbitrary: fc.constant("POST") }, { weight: 3, arbitrary: fc.constant("GET") }, { weight: 1, arbitrary: fc.constantFrom("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD") });

test("fuzz: never a 5xx, never a hang, errors always in the envelope", async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fc.nat(rooms.length - 1), method, path, query, headers, body, async (ri, m, p, q, h, b) => {
      const { code, owner, guest } = rooms[ri]!;
      const url = s.url + p.replace("@CODE@", code) + q;
      const hh: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (typeof v === "string") hh[k] = v.replace("@OWNER@", owner).replace("@GUEST@", guest);
      const init: RequestInit = { method: m, headers: hh, signal: AbortSignal.timeout(5000) };
      if (m !== "GET" && m !== "HEAD") init.body = b;
      let res: Response;
      try {
        res = await fetch(url, init);
      } catch (e) {
        // A URL fetch itself refuses is not the server's doing; anything else (timeout, reset) is a failure.
        if (e instanceof TypeError && /Invalid URL|invalid|ByteString/i.test(String((e as Error).message) + String((e as { cause?: unknown }).cause))) return;
        throw e;
      }
      const text = await res.text();
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500, `${m} ${p}${q} → ${res.status} ${text.slice(0, 200)}`);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.ok(res.headers.has("x-registry-features"));
      if (res.status >= 400 && m !== "HEAD") {
        const env = JSON.parse(text);
        assert.ok(isErrorCode(env?.error?.code), text);
        assert.equal(ERROR_STATUS[env.error.code as keyof typeof ERROR_STATUS], res.status);
        assert.equal(typeof env.error.message, "string");
        if (res.status === 429) assert.equal(typeof env.error.retryAfterSec, "number");
      }
    }),
    { numRuns: 300, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
  );
  // The run must have gone deep, not just bounced off the first checks: successes and a
  // spread of refusals from every layer.
  const statuses = [...seen.keys()];
  assert.ok(statuses.some((x) => x >= 200 && x < 300), `statuses ${JSON.stringify([...seen])}`);
  for (const x of [400, 403, 404]) assert.ok(seen.has(x), `no ${x} in ${JSON.stringify([...seen])}`);
  assert.ok(statuses.length >= 6, `statuses ${JSON.stringify([...seen])}`);
  // The server still works afterwards.
  const r = await fetch(s.url + "/health");
  assert.equal(r.status, 200);
});
