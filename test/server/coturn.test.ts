/**
 * The Registry's TURN credentials against a real coturn (`turnserver --use-auth-secret` on
 * 127.0.0.1), through a real TURN Allocate (test/server/turn-client.ts): minted credentials
 * work, tampered ones and ones signed with another secret do not, and once TURN_TTL_SEC has
 * passed coturn refuses a new allocation with them, while an allocation made in time keeps
 * being refreshed (why TURN_TTL_SEC can be an hour). Runs on both runtimes of the Registry.
 *
 * Needs `turnserver`: installed with apt when missing and running as root (as `npm test` does
 * for Chromium); otherwise the test is skipped, loudly.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TestServer } from "./harness.ts";
import { freePort } from "./workerd-harness.ts";
import { createRoom, expectStatus, post, sleep, tok } from "./helpers.ts";
import { TurnClient, type TurnResult } from "./turn-client.ts";

const SECRET = "coturn-test-secret-0123456789";

function findTurnserver(): string | null {
  const which = () => spawnSync("sh", ["-c", "command -v turnserver"], { encoding: "utf8" }).stdout.trim() || null;
  let path = which();
  if (!path && process.getuid?.() === 0) {
    console.error("[coturn.test] turnserver missing: installing coturn with apt-get ...");
    spawnSync("apt-get", ["install", "-y", "-q", "coturn"], {
      stdio: "inherit",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    path = which();
  }
  return path;
}

const turnserver = findTurnserver();
const skip = turnserver
  ? false
  : "turnserver (coturn) is not installed and cannot be installed here (needs root and apt): real TURN checks NOT run";
if (skip) console.error(`\n*** SKIPPED: ${skip} ***\n`);

let coturn: ChildProcess | undefined;
let dir = "";
let turnPort = 0;
let output = "";

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "registry-coturn-"));
  turnPort = await freePort();
  // A relay port range of its own, picked from the port so parallel runs rarely share one.
  const minPort = 50_000 + (turnPort % 100) * 100;
  coturn = spawn(
    turnserver!,
    [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${turnPort}`,
      "--relay-ip=127.0.0.1",
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      "--use-auth-secret",
      `--static-auth-secret=${SECRET}`,
      "--realm=registry.test",
      "--allow-loopback-peers",
      "--no-cli",
      "--no-tls",
      "--no-dtls",
      "--fingerprint",
      `--db=${join(dir, "turndb")}`,
      `--pidfile=${join(dir, "turnserver.pid")}`,
      "--log-file=stdout",
      "--simple-log",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  coturn.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  coturn.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  process.once("exit", () => coturn?.kill("SIGKILL"));
});

after(async () => {
  if (coturn && coturn.exitCode === null) {
    const exited = new Promise((r) => coturn!.once("exit", r));
    coturn.kill("SIGTERM");
    const t = setTimeout(() => coturn?.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const turnUrls = () => `turn:127.0.0.1:${turnPort}?transport=udp`;

function turnOf(body: any): { username: string; credential: string } {
  const s = body.iceServers.find((x: any) => x.username !== undefined);
  assert.ok(s, `no TURN entry in ${JSON.stringify(body.iceServers)}`);
  assert.deepEqual(s.urls, [turnUrls()]);
  return s;
}

async function allocate(username: string, credential: string, timeoutMs = 5000): Promise<TurnResult> {
  const c = await TurnClient.open({ host: "127.0.0.1", port: turnPort });
  try {
    const r = await c.allocate(username, credential, timeoutMs);
    if (r.ok) await c.refresh(username, credential, 0); // free the relay port again
    return r;
  } finally {
    c.close();
  }
}

function expectAllocated(r: TurnResult, what: string) {
  assert.ok(r.ok, `${what}: ${JSON.stringify(r)}\ncoturn said:\n${output.slice(-2000)}`);
  assert.equal(r.relayed.address, "127.0.0.1");
  assert.ok(r.integrity, `${what}: coturn's answer is signed with the same key`);
}

function expectRefused(r: TurnResult, what: string) {
  assert.ok(!r.ok && r.status === 401, `${what}: expected 401, got ${JSON.stringify(r)}`);
}

test("minted credentials allocate a relay on coturn; tampered or foreign ones are refused", {
  skip,
  timeout: 60_000,
}, async () => {
  const s: TestServer = await startServer({
    TURN_URLS: turnUrls(),
    TURN_SECRET: SECRET,
    TURN_TTL_SEC: "600",
    STUN_URLS: "",
  });
  const other: TestServer = await startServer({
    TURN_URLS: turnUrls(),
    TURN_SECRET: "another-secret-9876543210",
    STUN_URLS: "",
  });
  try {
    const created = await post(s.url, "/rooms", { hostUserName: "a" });
    expectStatus(created, 201);
    const host = turnOf(created.body);
    // The first allocation also waits for coturn to be up (it retransmits for up to 15 s).
    expectAllocated(await allocate(host.username, host.credential, 15_000), "host (create)");

    const joined = await post(s.url, `/rooms/${created.body.code}/join`, {
      joinCode: created.body.joinCode,
      guestUserName: "b",
    });
    expectAllocated(await allocate(turnOf(joined.body).username, turnOf(joined.body).credential), "guest (join)");
    const fresh = await post(s.url, `/rooms/${created.body.code}/ice-servers`, "", tok(joined.body.guestToken));
    expectAllocated(await allocate(turnOf(fresh.body).username, turnOf(fresh.body).credential), "guest (fresh)");

    const [expiry, id] = host.username.split(":");
    expectRefused(await allocate(host.username, host.credential.slice(0, -4) + "AAA="), "credential altered");
    expectRefused(
      await allocate(`${Number(expiry) + 3600}:${id}`, host.credential),
      "expiry pushed out, same credential",
    );
    const foreign = turnOf((await post(other.url, "/rooms", { hostUserName: "c" })).body);
    expectRefused(await allocate(foreign.username, foreign.credential), "signed with another secret");
  } finally {
    await Promise.all([s.close(), other.close()]);
  }
});

test("after TURN_TTL_SEC coturn refuses the credentials for a new relay; a relay allocated in time is still refreshed", {
  skip,
  timeout: 60_000,
}, async () => {
  const ttl = 2;
  const s = await startServer({ TURN_URLS: turnUrls(), TURN_SECRET: SECRET, TURN_TTL_SEC: String(ttl), STUN_URLS: "" });
  const held = await TurnClient.open({ host: "127.0.0.1", port: turnPort });
  try {
    const room = await createRoom(s.url);
    const created = await post(s.url, `/rooms/${room.code}/ice-servers`, "", tok(room.ownerToken));
    const { username, credential } = turnOf(created.body);
    const expiresAt = created.body.iceExpiresAt as number;
    assert.equal(expiresAt, Number(username.split(":")[0]) * 1000);
    assert.ok(
      expiresAt - Date.now() <= ttl * 1000 && expiresAt > Date.now(),
      `expires in ${expiresAt - Date.now()} ms`,
    );
    const first = await held.allocate(username, credential, 15_000);
    expectAllocated(first, "before expiry");

    // coturn compares whole seconds: wait until a full second past the expiry (bounded by the TTL).
    const wait = expiresAt + 1100 - Date.now();
    assert.ok(wait <= ttl * 1000 + 1100);
    await sleep(wait);

    expectRefused(await allocate(username, credential), "after expiry, a new allocation");
    const refreshed = await held.refresh(username, credential, 600);
    assert.ok(refreshed.ok, `the allocation made in time is refreshed: ${JSON.stringify(refreshed)}`);
    await held.refresh(username, credential, 0);
  } finally {
    held.close();
    await s.close();
  }
});
