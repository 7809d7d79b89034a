/** Issue 13 §7: the expiry min-heap (pure) and the Node room host's sweep visiting only due rooms. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpiryQueue } from "../../server/core/expiry.ts";
import { MemoryRoomStorage, RoomHost, SWEEP_BATCH } from "../../server/core/room-host.ts";
import { parseConfig } from "../../server/core/config.ts";
import { SlotLimiter, holdGate } from "../../server/core/limits-global.ts";

test("ExpiryQueue: rooms come out once, when due, in time order; a later schedule keeps the earlier entry", () => {
  const q = new ExpiryQueue();
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const at = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const code = `R${i % 500}`;
    const t = Math.floor(rnd() * 10_000);
    q.schedule(code, t);
    at.set(code, Math.min(at.get(code) ?? Infinity, t));
  }
  // About one entry per room plus one per time a room's expiry moved earlier.
  assert.ok(q.size <= 2000);
  let last = -1;
  const seen = new Set<string>();
  for (let now = 0; now <= 10_000; now += 250) {
    for (const code of q.due(now)) {
      assert.ok(!seen.has(code), `${code} once`);
      seen.add(code);
      assert.equal(at.get(code)! <= now, true);
      assert.ok(at.get(code)! > now - 250 || now === 0, "not late");
      assert.ok(at.get(code)! >= last - 250);
      last = at.get(code)!;
    }
  }
  assert.equal(seen.size, 500);
  assert.equal(q.size, 0);
  assert.equal(q.peek(), undefined);
  q.schedule("A", 5);
  q.schedule("A", 9); // later: no new entry
  assert.equal(q.size, 1);
  q.schedule("A", 3); // earlier: a new entry; the old one becomes stale
  assert.equal(q.size, 2);
  assert.deepEqual(q.due(100), ["A"]);
  assert.equal(q.size, 0);
  q.schedule("B", 1);
  q.schedule("C", 2);
  assert.deepEqual(q.due(10, 1), ["B"]);
  assert.deepEqual(q.due(10), ["C"]);
});

test("RoomHost.sweep expires only due rooms, at most SWEEP_BATCH per call, and keeps one heap entry per room", async () => {
  const clock = { t: 1_000_000 };
  const config = parseConfig({ TTL_OPEN_SEC: "100", TTL_CLOSED_SEC: "10" });
  const storage = new MemoryRoomStorage();
  const host = new RoomHost({ storage, config, now: () => clock.t });
  const n = SWEEP_BATCH + 500;
  const hash = "0".repeat(64);
  for (let i = 0; i < n; i++) {
    const code = `R${String(i).padStart(5, "0")}`;
    // Half of them now, half 50 s later.
    clock.t = 1_000_000 + (i % 2) * 50_000;
    const r = await host.call(code, { op: "create", code, hostUserName: "h", ownerToken: "t", ownerTokenHash: hash, joinCode: "j", joinCodeHash: hash });
    assert.equal(r.status, 201);
  }
  assert.equal(host.scheduled, n);
  assert.equal(host.live, n);
  // Nothing due: nothing changes.
  clock.t = 1_000_000 + 99_000;
  await host.sweep();
  assert.equal(host.live, n);
  // The first half is due; one sweep takes at most SWEEP_BATCH of them.
  clock.t = 1_000_000 + 100_000;
  await host.sweep();
  const half = Math.ceil(n / 2);
  assert.equal(host.live, n - Math.min(half, SWEEP_BATCH));
  await host.sweep();
  assert.equal(host.live, n - half);
  assert.equal(storage.size, n, "tombstones stay for TTL_CLOSED_SEC");
  clock.t += 10_000;
  await host.sweep();
  assert.equal(storage.size, n - half, "tombstones gone");
  assert.equal(host.scheduled, n - half);
});

test("SlotLimiter / holdGate: per-key and total ceilings, released exactly once", () => {
  const s = new SlotLimiter(2, 3);
  assert.equal(s.acquire("a"), null);
  assert.equal(s.acquire("a"), null);
  assert.equal(s.acquire("a"), "per_ip");
  assert.equal(s.acquire("b"), null);
  assert.equal(s.acquire("c"), "total");
  s.release("a");
  assert.equal(s.count("a"), 1);
  assert.equal(s.acquire("c"), null);
  s.release("nobody");
  assert.equal(s.total, 3);
  const g = holdGate(new SlotLimiter(1, 0), "x");
  assert.equal(g.acquire(), null);
  assert.equal(g.acquire(), null, "a gate holds one slot at most");
  g.release();
  g.release();
  const off = new SlotLimiter(0, 0);
  for (let i = 0; i < 100; i++) assert.equal(off.acquire("k"), null);
});
