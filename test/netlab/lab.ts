/**
 * The NAT lab: two players on two home networks and a small "internet", all network
 * namespaces of this machine (root only), named `rpnl-<pid>-…` and removed on close, on exit
 * and by the next run if this one crashed.
 *
 *   player p1 (10.0.1.2) ── lan │ router r1 │ wan (198.18.0.11) ─┐
 *                                NAT, FORWARD DROP                ├─ br0 198.18.0.1 "internet":
 *   player p2 (10.0.2.2) ── lan │ router r2 │ wan (198.18.0.12) ─┘   coturn :3478 (STUN+TURN),
 *                                                                     delay/loss forwarder :3479,
 *                                                                     Registry + demo per profile,
 *                                                                     default route → ifb (discard)
 *
 * Routers NAT with MASQUERADE (endpoint-independent mapping: STUN traverses it) or
 * MASQUERADE --random-fully (a new port per destination: symmetric, only TURN traverses it),
 * and drop unsolicited inbound traffic (FORWARD policy DROP, ESTABLISHED,RELATED accepted).
 * Each player is one headless Chromium started inside its namespace through a wrapper script;
 * Playwright drives it from here over a pipe.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { PREFIX, destroyNamespace, nsRun, removeStale, run } from "./sys.ts";
import { playerInitScript, type PlayerOptions } from "./page.ts";
import type { FromServers, ServersConfig, ToServers } from "./servers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export const INET_IP = "198.18.0.1";
const WAN_IP = ["198.18.0.11", "198.18.0.12"] as const;
const LAN_NET = ["10.0.1", "10.0.2"] as const;
const TURN_PORT = 3478;
const IMPAIR_PORT = 3479;
const REGISTRY_PORT0 = 8700;
const STATIC_PORT0 = 8000;

export type NatKind = "eim" | "symmetric";
export type PlayerIndex = 0 | 1;

/** What a profile's Registry environment may refer to. */
export interface LabAddresses {
  stunUrl: string;
  turnUrl: string;
  turnSecret: string;
}

export interface LabOptions {
  /** Named Registry configurations; each gets its own Registry and demo origin. */
  profiles: Record<string, (a: LabAddresses) => Record<string, string>>;
  /** The delay/loss forwarder in front of coturn (default 50 ms each way, 5 % loss each way). */
  impair?: { delayMs: number; loss: number };
  log?: (m: string) => void;
}

export interface CutRecord {
  player: PlayerIndex;
  cutAt: number;
  restoredAt?: number;
}

export interface OutageRecord {
  rule: string[];
  downAt: number;
  upAt?: number;
}

export interface Lab {
  readonly id: string;
  readonly stunUrl: string;
  readonly turnUrl: string;
  /** TURN through the delay/loss forwarder. */
  readonly impairedTurnUrl: string;
  /** The demo's origin for a profile (its pages talk to that profile's Registry). */
  origin(profile: string): string;
  registryUrl(profile: string): string;
  /** Sets the NAT behaviour of one router, or of both. */
  setNat(kind: NatKind, player?: PlayerIndex): void;
  /** Drops everything the player's router forwards, both ways (also the Registry's route). */
  cut(player: PlayerIndex): CutRecord;
  restore(cut: CutRecord): void;
  /**
   * A Registry outage for everyone (peer traffic untouched): its TCP ports drop every packet
   * ("drop": unreachable, requests hang until their own timeout) or answer with a reset
   * ("reset": server down, requests fail at once).
   */
  registryDown(mode?: "drop" | "reset"): OutageRecord;
  registryUp(outage: OutageRecord): void;
  /** Kills the page's renderer process (Chromium's Page.crash): a player whose tab died. */
  crashRenderer(page: Page): Promise<void>;
  /** TURN REST credentials as coturn's use-auth-secret expects them. */
  mintTurn(ttlSec: number): { username: string; credential: string; expiresAt: number };
  /** A fresh page (own browser context, camera+mic granted) in the player's Chromium. */
  player(i: PlayerIndex, name: string, opts?: PlayerOptions): Promise<Page>;
  /** Closes every context opened by player() (between scenarios). */
  resetPlayers(): Promise<void>;
  impairStats(): Promise<{ forwarded: number; dropped: number; clients: number }>;
  close(): Promise<void>;
}

function turnCredential(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  const log = opts.log ?? ((m: string) => console.log(m));
  removeStale(log);
  const id = `${PREFIX}${process.pid}`;
  const ns = { inet: `${id}-inet`, r: [`${id}-r1`, `${id}-r2`], p: [`${id}-p1`, `${id}-p2`] } as const;
  const all = [ns.inet, ...ns.r, ...ns.p];
  const dir = join(tmpdir(), id);
  const children: ChildProcess[] = [];
  const browsers: Browser[] = [];
  let contexts: BrowserContext[] = [];
  let cleaned = false;

  /** Synchronous, so it also runs from process 'exit' and signal handlers. */
  const cleanupSync = (): void => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const n of all) destroyNamespace(n);
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanupSync();
    process.kill(process.pid, sig);
  };
  process.once("exit", cleanupSync);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    mkdirSync(dir, { recursive: true });
    for (const n of all) {
      run("ip", ["netns", "add", n]);
      nsRun(n, "ip", ["link", "set", "lo", "up"]);
      // IPv4 only: no link-local v6 candidates that could never connect.
      nsRun(n, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
    }
    // The internet: a bridge the routers' WAN links join, and a default route into a device
    // that discards everything (coturn closes relays whose sends fail with ENETUNREACH).
    nsRun(ns.inet, "ip", ["link", "add", "br0", "type", "bridge"]);
    nsRun(ns.inet, "ip", ["addr", "add", `${INET_IP}/24`, "dev", "br0"]);
    nsRun(ns.inet, "ip", ["link", "set", "br0", "up"]);
    nsRun(ns.inet, "ip", ["link", "add", "discard", "type", "ifb"]);
    nsRun(ns.inet, "ip", ["link", "set", "discard", "up"]);
    nsRun(ns.inet, "ip", ["route", "add", "default", "dev", "discard"]);
    for (const i of [0, 1] as const) {
      const r = ns.r[i];
      const p = ns.p[i];
      run("ip", ["link", "add", "wan", "netns", r, "type", "veth", "peer", "name", `r${i + 1}`, "netns", ns.inet]);
      nsRun(ns.inet, "ip", ["link", "set", `r${i + 1}`, "master", "br0", "up"]);
      nsRun(r, "ip", ["addr", "add", `${WAN_IP[i]}/24`, "dev", "wan"]);
      nsRun(r, "ip", ["link", "set", "wan", "up"]);
      run("ip", ["link", "add", "lan", "netns", r, "type", "veth", "peer", "name", "eth0", "netns", p]);
      nsRun(r, "ip", ["addr", "add", `${LAN_NET[i]}.1/24`, "dev", "lan"]);
      nsRun(r, "ip", ["link", "set", "lan", "up"]);
      nsRun(r, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
      nsRun(p, "ip", ["addr", "add", `${LAN_NET[i]}.2/24`, "dev", "eth0"]);
      nsRun(p, "ip", ["link", "set", "eth0", "up"]);
      nsRun(p, "ip", ["route", "add", "default", "via", `${LAN_NET[i]}.1`]);
      // A home router: replies get in, nothing unsolicited does. INPUT drops too: an
      // unsolicited packet to the router's own WAN port would otherwise leave a conntrack
      // entry that makes the NAT pick another port for the player's later flow to that
      // sender (and answer with ICMP unreachable), which breaks simultaneous-open traversal.
      nsRun(r, "iptables", ["-P", "INPUT", "DROP"]);
      nsRun(r, "iptables", ["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
      nsRun(r, "iptables", ["-A", "INPUT", "-i", "lan", "-j", "ACCEPT"]);
      nsRun(r, "iptables", ["-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]);
      nsRun(r, "iptables", ["-P", "FORWARD", "DROP"]);
      nsRun(r, "iptables", ["-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]);
      nsRun(r, "iptables", ["-A", "FORWARD", "-i", "lan", "-o", "wan", "-j", "ACCEPT"]);
    }

    const setNat = (kind: NatKind, player?: PlayerIndex): void => {
      for (const i of player === undefined ? ([0, 1] as const) : [player]) {
        const r = ns.r[i];
        nsRun(r, "iptables", ["-t", "nat", "-F", "POSTROUTING"]);
        nsRun(r, "iptables", [
          "-t",
          "nat",
          "-A",
          "POSTROUTING",
          "-o",
          "wan",
          "-j",
          "MASQUERADE",
          ...(kind === "symmetric" ? ["--random-fully"] : []),
        ]);
      }
    };
    setNat("eim");

    // coturn: STUN + TURN with TURN REST credentials (use-auth-secret), UDP/TCP only.
    const turnSecret = randomBytes(18).toString("base64url");
    const turnProc = spawn(
      "ip",
      [
        "netns",
        "exec",
        ns.inet,
        "turnserver",
        `--listening-ip=${INET_IP}`,
        `--relay-ip=${INET_IP}`,
        `--listening-port=${TURN_PORT}`,
        "--min-port=49152",
        "--max-port=49407",
        "--use-auth-secret",
        `--static-auth-secret=${turnSecret}`,
        "--realm=netlab.test",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--fingerprint",
        `--db=${join(dir, "turndb.sqlite")}`,
        "--log-file=stdout",
        "--simple-log",
        "--no-software-attribute",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(turnProc);
    let turnLog = "";
    const keep = (b: Buffer) => {
      turnLog = (turnLog + b.toString()).slice(-8000);
    };
    turnProc.stdout!.on("data", keep);
    turnProc.stderr!.on("data", keep);

    const addresses: LabAddresses = {
      stunUrl: `stun:${INET_IP}:${TURN_PORT}`,
      turnUrl: `turn:${INET_IP}:${TURN_PORT}?transport=udp`,
      turnSecret,
    };
    const names = Object.keys(opts.profiles);
    const staticOrigin = (k: number) => `http://${INET_IP}:${STATIC_PORT0 + k}`;
    const origins = names.map((_, k) => staticOrigin(k));
    const config: ServersConfig = {
      host: INET_IP,
      profiles: names.map((name, k) => ({
        name,
        registryPort: REGISTRY_PORT0 + k,
        staticPort: STATIC_PORT0 + k,
        env: { ALLOWED_ORIGINS: origins.join(","), ...opts.profiles[name]!(addresses) },
      })),
      impairers: [
        {
          name: "turn",
          host: INET_IP,
          port: IMPAIR_PORT,
          targetHost: INET_IP,
          targetPort: TURN_PORT,
          delayMs: opts.impair?.delayMs ?? 50,
          loss: opts.impair?.loss ?? 0.05,
        },
      ],
    };
    const servers = spawn(
      "ip",
      ["netns", "exec", ns.inet, process.execPath, "--import", "tsx", join(ROOT, "test/netlab/servers.ts")],
      {
        cwd: ROOT,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, RPNL_SERVERS: JSON.stringify(config) },
      },
    );
    children.push(servers);
    let nextId = 1;
    const pending = new Map<number, (m: FromServers) => void>();
    const ready = new Promise<void>((ok, fail) => {
      const t = setTimeout(() => fail(new Error("lab servers did not start within 30 s")), 30_000);
      servers.on("message", (m: FromServers) => {
        if ("ready" in m) {
          clearTimeout(t);
          ok();
        } else if ("failed" in m) {
          clearTimeout(t);
          fail(new Error(`lab servers failed: ${m.failed}`));
        } else if ("id" in m) {
          pending.get(m.id)?.(m);
          pending.delete(m.id);
        }
      });
      servers.once("exit", (code) => {
        clearTimeout(t);
        fail(new Error(`lab servers exited (${code})`));
      });
    });

    // Chromium per player, each inside its namespace through a wrapper script.
    const { ensureChromium, CHROMIUM_ARGS } = (await import("../../scripts/chromium.mjs" as string)) as {
      ensureChromium(): string;
      CHROMIUM_ARGS: string[];
    };
    const chrome = ensureChromium();
    const launch = async (i: PlayerIndex): Promise<Browser> => {
      const wrapper = join(dir, `chromium-p${i + 1}.sh`);
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.p[i]} ${chrome} "$@"\n`);
      chmodSync(wrapper, 0o755);
      return chromium.launch({
        executablePath: wrapper,
        headless: true,
        timeout: 60_000,
        args: [
          ...CHROMIUM_ARGS,
          "--no-proxy-server",
          `--unsafely-treat-insecure-origin-as-secure=${origins.join(",")}`,
        ],
      });
    };
    const [b1, b2] = await Promise.all([launch(0), launch(1), ready]);
    browsers.push(b1, b2);

    // coturn answers once it listens: check its UDP socket (bounded).
    const deadline = Date.now() + 10_000;
    while (!nsRun(ns.inet, "ss", ["-Hlun"]).includes(`${INET_IP}:${TURN_PORT}`)) {
      if (turnProc.exitCode !== null || Date.now() > deadline)
        throw new Error(`coturn did not start: ${turnLog.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const lab: Lab = {
      id,
      stunUrl: addresses.stunUrl,
      turnUrl: addresses.turnUrl,
      impairedTurnUrl: `turn:${INET_IP}:${IMPAIR_PORT}?transport=udp`,
      origin(profile) {
        const k = names.indexOf(profile);
        if (k < 0) throw new Error(`no profile ${profile}`);
        return staticOrigin(k);
      },
      registryUrl(profile) {
        const k = names.indexOf(profile);
        if (k < 0) throw new Error(`no profile ${profile}`);
        return `http://${INET_IP}:${REGISTRY_PORT0 + k}`;
      },
      setNat,
      cut(player) {
        const r = ns.r[player];
        nsRun(r, "iptables", ["-I", "FORWARD", "1", "-i", "lan", "-j", "DROP"]);
        nsRun(r, "iptables", ["-I", "FORWARD", "1", "-o", "lan", "-j", "DROP"]);
        return { player, cutAt: Date.now() };
      },
      restore(c) {
        const r = ns.r[c.player];
        nsRun(r, "iptables", ["-D", "FORWARD", "-o", "lan", "-j", "DROP"]);
        nsRun(r, "iptables", ["-D", "FORWARD", "-i", "lan", "-j", "DROP"]);
        c.restoredAt = Date.now();
      },
      registryDown(mode = "drop") {
        const rule = [
          "INPUT",
          "-p",
          "tcp",
          "--dport",
          `${REGISTRY_PORT0}:${REGISTRY_PORT0 + names.length - 1}`,
          "-j",
          ...(mode === "drop" ? ["DROP"] : ["REJECT", "--reject-with", "tcp-reset"]),
        ];
        nsRun(ns.inet, "iptables", ["-I", ...rule]);
        return { rule, downAt: Date.now() };
      },
      registryUp(o) {
        nsRun(ns.inet, "iptables", ["-D", ...o.rule]);
        o.upAt = Date.now();
      },
      async crashRenderer(page) {
        const cdp = await page.context().newCDPSession(page);
        // Page.crash never answers: the renderer is gone before it could.
        void cdp.send("Page.crash").catch(() => {});
        await page.waitForEvent("crash", { timeout: 10_000 });
      },
      mintTurn(ttlSec) {
        const expiresAt = Math.floor(Date.now() / 1000) + ttlSec;
        const username = `${expiresAt}:netlab${randomBytes(4).toString("hex")}`;
        return { username, credential: turnCredential(turnSecret, username), expiresAt };
      },
      async player(i, name, popts = {}) {
        const ctx = await browsers[i]!.newContext({ permissions: ["camera", "microphone"] });
        contexts.push(ctx);
        const page = await ctx.newPage();
        page.on("pageerror", (e) => log(`[${name}] page error: ${e.message}`));
        // tsx (esbuild keepNames) wraps named functions in __name(): give the page a no-op one.
        await page.addInitScript("globalThis.__name ??= (f) => f;");
        await page.addInitScript(playerInitScript, popts);
        return page;
      },
      async resetPlayers() {
        const cs = contexts;
        contexts = [];
        await Promise.all(cs.map((c) => c.close().catch(() => {})));
      },
      impairStats() {
        const id = nextId++;
        return new Promise((ok, fail) => {
          const t = setTimeout(() => fail(new Error("no stats from the lab servers")), 5000);
          pending.set(id, (m) => {
            clearTimeout(t);
            ok(("stats" in m && m.stats.turn) || { forwarded: 0, dropped: 0, clients: 0 });
          });
          servers.send({ id, cmd: "stats" } satisfies ToServers);
        });
      },
      async close() {
        await Promise.all(browsers.map((b) => b.close().catch(() => {})));
        if (servers.connected) servers.disconnect();
        if (servers.exitCode === null) {
          let t: NodeJS.Timeout | undefined;
          await Promise.race([
            new Promise((r) => servers.once("exit", r)),
            new Promise((r) => (t = setTimeout(r, 3000))),
          ]);
          clearTimeout(t);
        }
        turnProc.kill("SIGTERM");
        cleanupSync();
        process.off("exit", cleanupSync);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      },
    };
    return lab;
  } catch (e) {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
    cleanupSync();
    process.off("exit", cleanupSync);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    throw e;
  }
}

/** True when a stale or current lab namespace exists (for the cleanup test). */
export function labNamespaces(): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(PREFIX));
}
