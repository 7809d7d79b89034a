/**
 * The lab's contact with the host system: can it run here, install what it needs, run a
 * command, and remove what a crashed earlier run left behind. Everything the lab creates is
 * named `rpnl-<pid>-…` (pid of the test process), so a stale namespace is one whose pid is gone.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PREFIX = "rpnl-";

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? "")).trim()}`);
  return r.stdout;
}

/** `ip netns exec <ns> cmd args…` */
export function nsRun(ns: string, cmd: string, args: string[]): string {
  return run("ip", ["netns", "exec", ns, cmd, ...args]);
}

const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/**
 * Why the lab cannot run here, or null when it can. Installs iptables and coturn with apt
 * when they are missing and it is allowed to (root with apt-get), saying what it did.
 */
export function labUnavailable(log: (m: string) => void = (m) => console.log(m)): string | null {
  if (process.platform !== "linux") return `not Linux (${process.platform}): network namespaces are Linux-only`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "not running as root: creating network namespaces and NAT rules needs root";
  if (!has("ip")) return "the `ip` command (iproute2) is missing";
  const probe = `${PREFIX}probe-${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `\`ip netns add\` does not work here: ${(r.stderr || "").trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  const missing = [has("iptables") ? null : "iptables", has("turnserver") ? null : "coturn"].filter((x): x is string => x !== null);
  if (missing.length > 0) {
    if (!has("apt-get")) return `${missing.join(" and ")} missing and no apt-get to install them`;
    log(`[netlab] ${missing.join(" and ")} not installed: apt-get update && apt-get install -y ${missing.join(" ")} (one time)…`);
    try {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", timeout: 300_000 });
      execFileSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    } catch (e) {
      return `installing ${missing.join(" ")} with apt failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!has("iptables") || !has("turnserver")) return `apt-get ran but ${missing.join(" / ")} is still missing`;
    log(`[netlab] installed ${missing.join(" and ")}.`);
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Kills every process inside a namespace, then deletes it (ignores what is already gone). */
export function destroyNamespace(ns: string): void {
  const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout?.split(/\s+/).filter(Boolean).map(Number) ?? [];
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone already */
    }
  }
  spawnSync("ip", ["netns", "del", ns]);
}

/** Removes namespaces and temp dirs of earlier runs whose test process no longer exists. */
export function removeStale(log: (m: string) => void): void {
  const list = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  const stale = new Set<number>();
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^rpnl-(?:probe-)?(\d+)/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    destroyNamespace(name);
    stale.add(pid);
  }
  for (const d of readdirSync(tmpdir())) {
    const m = /^rpnl-(\d+)$/.exec(d);
    if (m && !alive(Number(m[1]))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
  if (stale.size > 0) log(`[netlab] removed namespaces left by crashed runs (pids ${[...stale].join(", ")})`);
}
