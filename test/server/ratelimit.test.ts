/** §5 rate limits at their defaults and edges: 429 rate_limited with retryAfterSec and Retry-After. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fromIp, startServer, type TestServer } from "./harness.ts";
import { cand, expectError, expectStatus, get, post, tok, type Res, type Room } from "./helpers.ts";
import { CONFIG_DEFAULTS } from "../../src/protocol/index.ts";

// The §10 defaults ("" = unset), client IPs picked per test through X-Forwarded-For.
let s: TestServer;
before(async () => {
  s = await startServer({ TRUST_PROXY: "127.0.0.1", LIMIT_CREATE_PER_MIN: "", LIMIT_PUBLIC_PER_MIN: "", LIMIT_JOIN_PER_MIN: "", LIMIT_TOKEN_PER_MIN: "" });
});
after(() => s.close());

const ip = (n: number) => fromIp(`203.0.113.${n}`);
const xff = (n: number) => ({ "x-forwarded-for": `203.0.113.${n}` });

function expectLimited(r: Res) {
  expectError(r, 429, "rate_limited");
  const sec = r.body.error.retryAfterSec;
  assert.ok(Number.isInteger(sec) && sec >= 1 && sec <= 60, `retryAfterSec ${sec}`);
  assert.equal(r.body.error.retryable, true);
  assert.equal(r.headers.get("retry-after"), String(sec));
}

async function create(n: number): Promise<Room> {
  const r = await post(s.url, "/rooms", { hostUserName: "a" }, ip(n));
  expectStatus(r, 201);
  return r.body;
}

test(`room creation: ${CONFIG_DEFAULTS.LIMIT_CREATE_PER_MIN}/min per IP`, async () => {
  for (let i = 0; i < CONFIG_DEFAULTS.LIMIT_CREATE_PER_MIN; i++) await create(1);
  expectLimited(await post(s.url, "/rooms", { hostUserName: "a" }, ip(1)));
  // Another IP is not affected.
  await create(2);
  // Refused requests are not counted: still limited, not longer.
  expectLimited(await post(s.url, "/rooms", { hostUserName: "a" }, ip(1)));
});

test(`public lookup: ${CONFIG_DEFAULTS.LIMIT_PUBLIC_PER_MIN}/min per IP (unknown rooms count)`, async () => {
  const room = await create(10);
  for (let i = 0; i < CONFIG_DEFAULTS.LIMIT_PUBLIC_PER_MIN; i++) {
    const r = await get(s.url, i % 2 ? `/rooms/${room.code}/public` : "/rooms/ZZZZZZ/public", ip(11));
    assert.ok(r.status === 200 || r.status === 404, String(r.status));
  }
  expectLimited(await get(s.url, `/rooms/${room.code}/public`, ip(11)));
  expectStatus(await get(s.url, `/rooms/${room.code}/public`, ip(12)), 200);
});

test(`join attempts: ${CONFIG_DEFAULTS.LIMIT_JOIN_PER_MIN}/min per IP, a join to an unknown room counts`, async () => {
  const room = await create(20);
  for (let i = 0; i < CONFIG_DEFAULTS.LIMIT_JOIN_PER_MIN; i++) {
    expectError(await post(s.url, "/rooms/ZZZZZZ/join", { joinCode: "00000000", guestUserName: "x" }, ip(21)), 404, "not_found");
  }
  expectLimited(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "x" }, ip(21)));
  expectStatus(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "x" }, ip(22)), 200);
});

test(`any request with a token: ${CONFIG_DEFAULTS.LIMIT_TOKEN_PER_MIN}/min per token`, async () => {
  const room = await create(30);
  const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "x" }, ip(31));
  expectStatus(j, 200);
  const host = tok(room.ownerToken);
  // Mixed reads and writes from many IPs: the key is the token.
  const jobs: Array<Promise<Res>> = [];
  for (let i = 0; i < CONFIG_DEFAULTS.LIMIT_TOKEN_PER_MIN; i++) {
    const h = { ...host, ...ip(100 + (i % 50)) };
    jobs.push(i % 3 === 0 ? post(s.url, `/rooms/${room.code}/candidate`, cand(i % 40), h) : get(s.url, `/rooms/${room.code}`, h));
    if (jobs.length >= 25) for (const r of await Promise.all(jobs.splice(0))) assert.ok(r.status === 200 || r.status === 204, r.text);
  }
  for (const r of await Promise.all(jobs)) assert.ok(r.status === 200 || r.status === 204, r.text);
  expectLimited(await get(s.url, `/rooms/${room.code}`, host));
  expectLimited(await post(s.url, `/rooms/${room.code}/close`, {}, host));
  // The guest's token has its own budget.
  expectStatus(await get(s.url, `/rooms/${room.code}`, tok(j.body.guestToken)), 200);
});

test("without TRUST_PROXY, X-Forwarded-For is ignored (the socket address is the key)", async () => {
  const s2 = await startServer({ LIMIT_CREATE_PER_MIN: "2" });
  try {
    expectStatus(await post(s2.url, "/rooms", { hostUserName: "a" }, xff(1)), 201);
    expectStatus(await post(s2.url, "/rooms", { hostUserName: "a" }, xff(2)), 201);
    expectLimited(await post(s2.url, "/rooms", { hostUserName: "a" }, xff(3)));
  } finally {
    await s2.close();
  }
});

test("limits of 0 are off", async () => {
  const s2 = await startServer({ LIMIT_CREATE_PER_MIN: "0", LIMIT_TOKEN_PER_MIN: "0" });
  try {
    let room: Room | undefined;
    for (let i = 0; i < CONFIG_DEFAULTS.LIMIT_CREATE_PER_MIN + 5; i++) {
      const r = await post(s2.url, "/rooms", { hostUserName: "a" });
      expectStatus(r, 201);
      room = r.body;
    }
    const jobs = Array.from({ length: CONFIG_DEFAULTS.LIMIT_TOKEN_PER_MIN + 20 }, () => get(s2.url, `/rooms/${room!.code}`, tok(room!.ownerToken)));
    for (let i = 0; i < jobs.length; i += 40) for (const r of await Promise.all(jobs.slice(i, i + 40))) expectStatus(r, 200);
  } finally {
    await s2.close();
  }
});
