/**
 * The lab's contact with the host system: can it run here, install what it needs, run a
 * command, and remove what a crashed earlier run left behind. Everything the lab creates is
 * named `rpnl-<pid>-…` (pid of the test process), so a stale namespace is one whose pid is gone.
 */
import { spawnSync } from "node:child_process";
import { rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PREFIX = "rpnl-";

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? "")).trim()}`,
    );
  return r.stdout;
}

/** `ip netns exec <ns> cmd args…` */
export function nsRun(ns: string, cmd: string, args: string[]): string {
  return run("ip", ["netns", "exec", ns, cmd, ...args]);
}

const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

interface SetupModule {
  ensureSystemPackages(o: { log?: (m: string) => void; want?: string[] }): string[];
}

/**
 * Why the lab cannot run here, or null when it can. Missing iptables or coturn are installed
 * with apt by npm test's setup (scripts/setup.mjs) when it may (root with apt-get); it says so.
 */
export async function labUnavailable(log: (m: string) => void = (m) => console.log(m)): Promise<string | null> {
  if (process.platform !== "linux") return `not Linux (${process.platform}): network namespaces are Linux-only`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return "not running as root: creating network namespaces and NAT rules needs root";
  }
  if (!has("ip")) return "the `ip` command (iproute2) is missing";
  const probe = `${PREFIX}probe-${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `\`ip netns add\` does not work here: ${(r.stderr || "").trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  const { ensureSystemPackages } = (await import("../../scripts/setup.mjs" as string)) as SetupModule;
  const missing = ensureSystemPackages({
    log: (m) => log(m.replace("[setup]", "[netlab]")),
    want: ["iptables", "coturn"],
  });
  if (missing.length > 0) return `${missing.join(" and ")} missing and could not be installed with apt`;
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
  const pids =
    spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout?.split(/\s+/).filter(Boolean).map(Number) ?? [];
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
