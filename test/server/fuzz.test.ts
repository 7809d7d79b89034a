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
let code = "";
let owner = "";
let guest = "";
before(async () => {
  // Tiny TTLs would make the fixed room vanish mid-run; defaults, limits off.
  s = await startServer();
  const room = await createRoom(s.url);
  code = room.code;
  owner = room.ownerToken;
  guest = await joinRoom(s.url, room);
});
after(() => s.close());

const segment = fc.oneof(
  fc.constantFrom("rooms", "public", "join", "offer", "answer", "candidate", "candidates", "close", "health", "", "..", "%2e%2e", "%00", "%ff", "ROOMS"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9A-Z]{6}$/),
);
const path = fc.oneof(
  fc.constant("/"),
  fc.constant("/health"),
  fc.constant("/rooms"),
  fc.constantFrom("", "/public", "/join", "/offer", "/answer", "/candidate", "/candidates", "/close").map((p) => `/rooms/@CODE@${p}`),
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
const headers = fc.record(
  {
    "content-type": fc.oneof(fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "multipart/form-data", ""), headerValue),
    "x-registry-version": fc.oneof(fc.constantFrom("1", "2", "", " 1 "), headerValue),
    "x-access-token": fc.oneof(fc.constantFrom("@OWNER@", "@GUEST@", "", "x"), headerValue, fc.constant("A".repeat(5000))),
    origin: fc.oneof(fc.constantFrom("http://localhost:5173", "http://evil.example", "null", "http://localhost.evil.example"), headerValue),
    "if-none-match": fc.oneof(fc.constantFrom('"1"', '"2"', "*", 'W/"2"'), headerValue),
    "x-forwarded-for": headerValue,
  },
  { requiredKeys: [] },
);
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "POST", "GET");

test("fuzz: never a 5xx, never a hang, errors always in the envelope", async () => {
  await fc.assert(
    fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
      const url = s.url + p.replace("@CODE@", code) + q;
      const hh: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (v !== undefined) hh[k] = v.replace("@OWNER@", owner).replace("@GUEST@", guest);
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
  // The server still works afterwards.
  const r = await fetch(s.url + "/health");
  assert.equal(r.status, 200);
});
