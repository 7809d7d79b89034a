/**
 * The real local workflow: `npm run dev:worker -- <args>` (wrangler dev, workerd, offline)
 * started from wrangler.jsonc as shipped. Proves the script passes extra arguments through
 * to `wrangler dev` (`--var`, `--port`, `--persist-to`), that the deployable config runs,
 * and that a room and the per-IP window survive wrangler dev being stopped and started
 * again on the same persistence directory. Runs under REGISTRY_RUNTIME=workerd; skipped
 * on Node. (The rest of the workerd suite uses Miniflare directly: ~0.2 s per start.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME } from "./harness.ts";
import { startWranglerDev, type WranglerDev } from "./workerd-harness.ts";
import { SDP_OFFER, expectError, expectStatus, get, joinRoom, post, tok, type Room } from "./helpers.ts";

const skip = RUNTIME !== "workerd" && "workerd only (REGISTRY_RUNTIME=workerd)";

test("npm run dev:worker: --var passes through; rooms and limits survive a restart of wrangler dev", { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "registry-wrangler-"));
  const vars = ["--var", "LIMIT_CREATE_PER_MIN:1"];
  let w: WranglerDev | undefined;
  try {
    w = await startWranglerDev(vars, { persistDir: dir });
    const health = await get(w.url, "/health");
    expectStatus(health, 200);
    assert.deepEqual(health.body, { ok: true });
    assert.match(health.headers.get("x-registry-features") ?? "", /longpoll/);

    const created = await post(w.url, "/rooms", { hostUserName: "Alice" });
    expectStatus(created, 201);
    const room = created.body as Room;
    // The --var reached the Worker: a second room from this IP within the minute is refused.
    expectError(await post(w.url, "/rooms", { hostUserName: "Alice" }), 429, "rate_limited");
    const guest = await joinRoom(w.url, room, "Bob");
    expectStatus(await post(w.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)), 204);
    const before = await get(w.url, `/rooms/${room.code}`, tok(room.ownerToken));
    expectStatus(before, 200);
    await w.close();
    w = undefined;

    w = await startWranglerDev(vars, { persistDir: dir });
    const after = await get(w.url, `/rooms/${room.code}`, tok(guest));
    expectStatus(after, 200);
    assert.deepEqual(after.body, before.body);
    assert.equal(after.body.status, "joined");
    assert.equal(after.body.offer.sdp, SDP_OFFER);
    // The Limiter object's window came back from storage as well.
    expectError(await post(w.url, "/rooms", { hostUserName: "Alice" }), 429, "rate_limited");
  } catch (e) {
    if (w) console.error(w.output());
    throw e;
  } finally {
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("wrangler deploy --dry-run: the shipped config bundles with wrangler's own bundler and binds both classes and every §10 var", { skip, timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), "registry-deploy-"));
  try {
    const npx = process.platform === "win32" ? "npx.cmd" : "npx";
    const r = spawnSync(npx, ["wrangler", "deploy", "--dry-run", "--outdir", out], {
      cwd: join(import.meta.dirname, "../.."),
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
      timeout: 110_000,
    });
    const log = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, log);
    assert.match(log, /env\.ROOMS \(Room\)\s+Durable Object/);
    assert.match(log, /env\.LIMITER \(Limiter\)\s+Durable Object/);
    for (const name of ["ALLOWED_ORIGINS", "TTL_OPEN_SEC", "TTL_JOINED_SEC", "TTL_PAIRED_SEC", "TTL_CLOSED_SEC", "LIMIT_CREATE_PER_MIN", "LIMIT_PUBLIC_PER_MIN", "LIMIT_JOIN_PER_MIN", "LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN", "LIMIT_TOKEN_PER_MIN", "LONGPOLL_MAX_SEC", "MAX_RESTARTS", "STUN_URLS", "TURN_URLS", "TURN_TTL_SEC", "LIMIT_ICE_PER_MIN", "CF_TURN_KEY_ID"]) {
      assert.match(log, new RegExp(`env\\.${name} `), `${name} is a var`);
    }
    const bundle = readFileSync(join(out, "worker.js"), "utf8");
    assert.match(bundle, /export\s*\{[^}]*\bRoom\b/);
    assert.match(bundle, /export\s*\{[^}]*\bLimiter\b/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
