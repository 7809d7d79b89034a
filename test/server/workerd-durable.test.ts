/**
 * What only the Workers runtime has to prove (server/worker/worker.ts): rooms live in Durable
 * Object storage, not in memory (they survive the runtime restarting between two
 * requests), TTLs run on Durable Object alarms (no request needed), room creation retries
 * on a taken code, and the storage holds tokens and join codes only as SHA-256 digests.
 * Runs under REGISTRY_RUNTIME=workerd; skipped on Node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { RUNTIME, TEST_DEFAULTS } from "./harness.ts";
import { startWorkerd, type WorkerdServer } from "./workerd-harness.ts";
import { SDP_ANSWER, SDP_OFFER, cand, createRoom, expectError, expectStatus, get, joinRoom, post, sleep, tok } from "./helpers.ts";

const skip = RUNTIME !== "workerd" && "workerd only (REGISTRY_RUNTIME=workerd)";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "registry-durable-"));
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

test("a room survives the runtime restarting between two requests (state from storage, not memory)", { skip }, async () => {
  const dir = tempDir();
  let s: WorkerdServer | undefined;
  try {
    s = await startWorkerd(TEST_DEFAULTS, { persistDir: dir });
    const room = await createRoom(s.url, "Alice");
    const guest = await joinRoom(s.url, room, "Bob");
    expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)), 204);
    expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, { items: [cand(1), cand(2)] }, tok(room.ownerToken)), 204);
    const before = await get(s.url, `/rooms/${room.code}`, tok(room.ownerToken));
    expectStatus(before, 200);
    await s.close();
    s = undefined;

    // A new workerd process: nothing of the room is in memory any more.
    s = await startWorkerd(TEST_DEFAULTS, { persistDir: dir });
    const after = await get(s.url, `/rooms/${room.code}`, tok(guest));
    expectStatus(after, 200);
    assert.deepEqual(after.body, before.body, "the snapshot is unchanged by the restart");
    assert.equal(after.body.status, "joined");
    assert.equal(after.body.guestUserName, "Bob");
    // Tokens still authenticate (their digests were stored), wrong ones still do not.
    expectError(await get(s.url, `/rooms/${room.code}`, tok("not-a-token")), 403, "forbidden");
    const theirs = await get(s.url, `/rooms/${room.code}/candidates?since=0`, tok(guest));
    expectStatus(theirs, 200);
    assert.equal(theirs.body.items.length, 2);
    assert.equal(theirs.body.lastSeq, 2);
    // Sequence numbers go on from storage; the state machine carries on.
    expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, cand(3), tok(room.ownerToken)), 204);
    const delta = await get(s.url, `/rooms/${room.code}/candidates?since=2`, tok(guest));
    assert.deepEqual(
      delta.body.items.map((c: { candidate: string }) => c.candidate),
      [cand(3).candidate],
    );
    assert.equal(delta.body.lastSeq, 3);
    expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, tok(guest)), 204);
    const paired = await get(s.url, `/rooms/${room.code}`, tok(room.ownerToken));
    assert.equal(paired.body.status, "paired");
    assert.equal(paired.body.version, before.body.version + 1);
    // The wrong-join lock lives in the room record too.
    expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Eve" }), 409, "already_paired");
  } finally {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("per-IP limits survive a restart too (the Limiter object keeps its window in storage)", { skip }, async () => {
  const dir = tempDir();
  const env = { ...TEST_DEFAULTS, LIMIT_CREATE_PER_MIN: "2" };
  const from = { "cf-connecting-ip": "198.51.100.7" };
  let s: WorkerdServer | undefined;
  try {
    s = await startWorkerd(env, { persistDir: dir });
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, from), 201);
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, from), 201);
    expectError(await post(s.url, "/rooms", { hostUserName: "a" }, from), 429, "rate_limited");
    await s.close();
    s = await startWorkerd(env, { persistDir: dir });
    expectError(await post(s.url, "/rooms", { hostUserName: "a" }, from), 429, "rate_limited");
    // Another IP has its own object.
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, { "cf-connecting-ip": "198.51.100.8" }), 201);
  } finally {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("TTLs run on Durable Object alarms: a held long-poll is woken by the expiry, no request needed", { skip }, async () => {
  const s = await startWorkerd({ ...TEST_DEFAULTS, TTL_JOINED_SEC: "1", TTL_CLOSED_SEC: "1" });
  try {
    const room = await createRoom(s.url);
    const guest = await joinRoom(s.url, room);
    const snap = await get(s.url, `/rooms/${room.code}`, tok(guest));
    expectStatus(snap, 200);
    const t0 = Date.now();
    // Nothing else touches the room: only the alarm can end this wait before its 20 s.
    const held = await get(s.url, `/rooms/${room.code}?since=${snap.body.version}&wait=20`, tok(guest), { timeoutMs: 15_000 });
    const waited = Date.now() - t0;
    // The alarm turned the expired room into a tombstone, which woke the waiter.
    expectError(held, 410, "closed");
    assert.ok(waited < 10_000, `woken by the alarm, not by the hold's deadline (${waited} ms)`);
    // The tombstone's own alarm then deletes the room.
    await sleep(1500);
    expectError(await get(s.url, `/rooms/${room.code}`, tok(guest)), 404, "not_found");
    const alarms = s.logs.filter((l) => l.includes('"event":"room_alarm"'));
    assert.ok(alarms.some((l) => l.includes('"room":"kept"')), `an alarm closed the room: ${alarms.join(" | ")}`);
    assert.ok(alarms.some((l) => l.includes('"room":"gone"')), `an alarm deleted the tombstone: ${alarms.join(" | ")}`);
  } finally {
    await s.close();
  }
});

test("an open room nobody touches is closed and then deleted by its alarms", { skip }, async () => {
  const s = await startWorkerd({ ...TEST_DEFAULTS, TTL_OPEN_SEC: "0.5", TTL_CLOSED_SEC: "0.5" });
  try {
    await createRoom(s.url);
    const deadline = Date.now() + 8000;
    const seen = () => s.logs.filter((l) => l.includes('"event":"room_alarm"'));
    while (Date.now() < deadline && !seen().some((l) => l.includes('"room":"gone"'))) await sleep(100);
    const alarms = seen();
    assert.ok(alarms.some((l) => l.includes('"room":"kept"')), `expiry alarm: ${alarms.join(" | ")}`);
    assert.ok(alarms.some((l) => l.includes('"room":"gone"')), `tombstone alarm: ${alarms.join(" | ")}`);
  } finally {
    await s.close();
  }
});

test("room creation: a taken code is reported as such by its object (the Worker then picks another)", { skip }, async () => {
  const s = await startWorkerd(TEST_DEFAULTS);
  try {
    const room = await createRoom(s.url);
    const ns = await s.miniflare.getDurableObjectNamespace("ROOMS");
    const stub = ns.get(ns.idFromName(room.code));
    const create = (code: string) =>
      stub
        .fetch("https://room.internal/call", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code, req: { op: "create", code, hostUserName: "Mallory", ownerToken: "t", ownerTokenHash: sha256Hex("t"), joinCode: "00000000", joinCodeHash: sha256Hex("00000000") } }),
        })
        .then((r) => r.json() as Promise<{ status: number; exists?: boolean }>);
    const again = await create(room.code);
    assert.equal(again.exists, true, "the object that holds a room refuses a second create");
    // The first room is untouched.
    const pub = await get(s.url, `/rooms/${room.code}/public`);
    expectStatus(pub, 200);
    assert.equal(pub.body.hostUserName, "Alice");
    // Many creations in a row all get distinct codes.
    const codes = new Set<string>();
    for (let i = 0; i < 30; i++) codes.add((await createRoom(s.url)).code);
    assert.equal(codes.size, 30);
  } finally {
    await s.close();
  }
});

test("storage holds tokens and join codes only as SHA-256 digests, and no client IP", { skip }, async () => {
  const dir = tempDir();
  let s: WorkerdServer | undefined;
  try {
    s = await startWorkerd({ ...TEST_DEFAULTS, LIMIT_CREATE_PER_MIN: "10", LIMIT_JOIN_PER_MIN: "10" }, { persistDir: dir });
    const ip = "198.51.100.23";
    const r = await post(s.url, "/rooms", { hostUserName: "Alice" }, { "cf-connecting-ip": ip });
    expectStatus(r, 201);
    const room = r.body as { code: string; ownerToken: string; joinCode: string };
    const j = await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "Bob" }, { "cf-connecting-ip": ip });
    expectStatus(j, 200);
    const guestToken = j.body.guestToken as string;
    await s.close();
    s = undefined;

    const blobs = filesUnder(dir).map((f) => readFileSync(f));
    assert.ok(blobs.length > 0);
    const found = (needle: string) => blobs.some((b) => b.includes(Buffer.from(needle)));
    // Positive control: the digests are there, so these are the files the room lives in.
    assert.ok(found(sha256Hex(room.ownerToken)), "owner token digest stored");
    assert.ok(found(sha256Hex(guestToken)), "guest token digest stored");
    assert.ok(found(sha256Hex(room.joinCode)), "join code digest stored");
    assert.ok(found("Alice") && found("Bob"), "the room record is in these files");
    assert.ok(!found(room.ownerToken), "owner token never stored in clear");
    assert.ok(!found(guestToken), "guest token never stored in clear");
    assert.ok(!found(room.joinCode), "join code never stored in clear");
    assert.ok(!found(ip), "client IP never stored in clear");
  } finally {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a malformed var: every request answers 503 unavailable in the envelope, the log names the variable", { skip }, async () => {
  const s = await startWorkerd({ ...TEST_DEFAULTS, LIMIT_CREATE_PER_MIN: "ten" });
  try {
    for (const r of [await get(s.url, "/health"), await post(s.url, "/rooms", { hostUserName: "a" })]) {
      expectError(r, 503, "unavailable");
      assert.equal(r.body.error.retryable, true);
      assert.equal(r.headers.get("cache-control"), "no-store");
    }
    await sleep(100);
    assert.ok(s.logs.some((l) => l.includes('"error":"config"') && l.includes("LIMIT_CREATE_PER_MIN")), s.logs.join("\n"));
  } finally {
    await s.close();
  }
});

test("a TURN secret that is too short: 503 everywhere, the log names TURN_SECRET but never its value", { skip }, async () => {
  const s = await startWorkerd({ ...TEST_DEFAULTS, TURN_URLS: "turn:t.example:3478", TURN_SECRET: "Shh-7chars" });
  try {
    expectError(await post(s.url, "/rooms", { hostUserName: "a" }), 503, "unavailable");
    await sleep(100);
    assert.ok(s.logs.some((l) => l.includes('"error":"config"') && l.includes("TURN_SECRET")), s.logs.join("\n"));
    assert.ok(!s.logs.join("\n").includes("Shh-7chars"));
  } finally {
    await s.close();
  }
});

test("client IP on Workers is CF-Connecting-IP only: X-Forwarded-For is ignored even with TRUST_PROXY set", { skip }, async () => {
  const s = await startWorkerd({ ...TEST_DEFAULTS, TRUST_PROXY: "127.0.0.1", LIMIT_CREATE_PER_MIN: "2" });
  try {
    const from = (xff: string) => ({ "x-forwarded-for": xff, "cf-connecting-ip": "192.0.2.1" });
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, from("10.0.0.1")), 201);
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, from("10.0.0.2")), 201);
    expectError(await post(s.url, "/rooms", { hostUserName: "a" }, from("10.0.0.3")), 429, "rate_limited");
    expectStatus(await post(s.url, "/rooms", { hostUserName: "a" }, { "x-forwarded-for": "10.0.0.3", "cf-connecting-ip": "192.0.2.2" }), 201);
  } finally {
    await s.close();
  }
});
