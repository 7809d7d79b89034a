/**
 * Issue 13 §1–§2 under a real file-descriptor limit: the Node Registry runs in a child process
 * started with `prlimit --nofile=256`. Slow-header sockets from eight loopback source addresses
 * (127.0.0.2–9) pile up; the per-IP ceiling and the total ceiling (fitted under the fd limit)
 * refuse the excess with envelopes, while GET /health and a full handshake from 127.0.0.1 keep
 * working; once the slow sockets time out everything is back to normal. Loopback only, bounded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { RUNTIME, TEST_DEFAULTS } from "./harness.ts";
import { SDP_ANSWER, SDP_OFFER, createRoom, expectStatus, get, joinRoom, post, sleep, tok } from "./helpers.ts";
import { openRaw, parseRaw, until, type RawSocket } from "./sockets.ts";

const FD_LIMIT = 256;
const PER_IP = 40;
const hasPrlimit = spawnSync("prlimit", ["--version"]).status === 0;
const skip = RUNTIME !== "node" ? "Node only" : !hasPrlimit ? "prlimit (util-linux) is not installed" : false;

async function startChild(env: Record<string, string>): Promise<{ url: string; max: number; child: ChildProcess }> {
  const child = spawn("prlimit", [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, "--import", "tsx", resolve(import.meta.dirname, "fixtures/registry-child.ts")], {
    env: { ...process.env, REGISTRY_ENV_JSON: JSON.stringify(env) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((ok, fail) => {
    const t = setTimeout(() => fail(new Error("registry child did not start in 30 s")), 30_000);
    createInterface({ input: child.stdout! }).once("line", (l) => {
      clearTimeout(t);
      ok(l);
    });
    child.once("exit", (c) => fail(new Error(`registry child exited with ${c}`)));
  });
  const m = JSON.parse(line) as { url: string; connections: { max: number } };
  return { url: m.url, max: m.connections.max, child };
}

async function handshake(url: string): Promise<void> {
  const room = await createRoom(url);
  const guest = await joinRoom(url, room);
  expectStatus(await post(url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)), 204);
  expectStatus(await post(url, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, tok(guest)), 204);
  expectStatus(await post(url, `/rooms/${room.code}/close`, {}, tok(room.ownerToken)), 204);
}

/** Opens `n` slow-header sockets from `from`; a refused one has its answer at once. */
async function pileUp(url: string, from: string, n: number, into: RawSocket[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const s = await openRaw(url, from).catch(() => null);
    if (!s) continue;
    into.push(s);
    s.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
}

test("with 256 file descriptors, slow sockets from many addresses are capped and health and handshakes keep working", { skip, timeout: 120_000 }, async () => {
  const { url, max, child } = await startChild({ ...TEST_DEFAULTS, MAX_CONNECTIONS_PER_IP: String(PER_IP), HEADERS_TIMEOUT_SEC: "8", REQUEST_TIMEOUT_SEC: "8" });
  const socks: RawSocket[] = [];
  try {
    // The total ceiling was fitted under the fd limit (a quarter, at least 64, kept free).
    assert.equal(max, FD_LIMIT - 64);
    // Phase 1: four addresses, 60 sockets each: each is held to PER_IP.
    for (const n of [2, 3, 4, 5]) await pileUp(url, `127.0.0.${n}`, 60, socks);
    // A connect completes before the server has accepted: give the accepts time on a loaded machine.
    const refusedNow = () => socks.filter((s) => s.data().startsWith("HTTP/1.1 429")).length;
    await until(() => refusedNow() >= 4 * (60 - PER_IP), 15_000);
    await sleep(300);
    const refused = socks.filter((s) => s.data().startsWith("HTTP/1.1 429"));
    const held = socks.filter((s) => s.data() === "" && !s.socket.destroyed);
    assert.equal(refused.length, 4 * (60 - PER_IP));
    assert.equal(held.length, 4 * PER_IP);
    for (const s of refused.slice(0, 3)) assert.equal(parseRaw(s.data())?.body?.error?.code, "rate_limited");
    expectStatus(await get(url, "/health"), 200);
    await handshake(url);

    // Phase 2: four more addresses pass the total ceiling: the excess is answered 503.
    for (const n of [6, 7, 8, 9]) await pileUp(url, `127.0.0.${n}`, PER_IP, socks);
    await until(() => socks.some((s) => s.data().startsWith("HTTP/1.1 503")), 15_000);
    await sleep(300);
    const full = socks.filter((s) => s.data().startsWith("HTTP/1.1 503"));
    const open = socks.filter((s) => s.data() === "" && !s.socket.destroyed).length;
    assert.ok(full.length > 0, "the total ceiling answered");
    assert.ok(open <= max, `open ${open} ≤ ${max}`);
    assert.equal(parseRaw(full[0]!.data())?.body?.error?.code, "unavailable");
    // Still alive and answering (an envelope, 200 or 503), never a reset.
    const h = await get(url, "/health");
    assert.ok(h.status === 200 || (h.status === 503 && h.body?.error?.code === "unavailable"), `${h.status} ${h.text}`);

    // The slow sockets time out (HEADERS_TIMEOUT_SEC) and the Registry is whole again.
    assert.ok(await until(() => socks.every((s) => s.socket.destroyed || s.socket.readableEnded || s.data() !== ""), 30_000), "slow sockets were cut");
    expectStatus(await get(url, "/health"), 200);
    await handshake(url);
    assert.equal(child.exitCode, null, "the Registry process is still running");
  } finally {
    for (const s of socks) s.destroy();
    child.stdin!.end();
    await new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
});
