/**
 * Figures 6 and 7: the Registry under load on loopback. The server runs in a process of its
 * own (Node: bench/lib/registry-node.ts; workerd: Miniflare's workerd process), the load
 * generator (bench/lib/load.ts) in another, running full synthetic handshakes with long-poll on.
 * Memory per idle room: bench/lib/memory.ts (Node only).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { roundSummary, summarize, type Figure, type Summary } from "./lib/stats.ts";
import { NO_LIMITS } from "./lib/limits.ts";

export interface RegistryBenchOptions {
  root: string;
  windows: number;
  windowMs: number;
  warmupMs: number;
  concurrency: number;
  memoryRooms: number;
  memoryRuns: number;
  log: (msg: string) => void;
}

interface LoadResult {
  perWindow: { handshakesPerSec: number; handshakeP50: number; handshakeP99: number; endpoints: Record<string, { n: number; p50: number; p99: number }> }[];
  errors: number;
  firstError: string;
  total: number;
  requests: number;
}

function tsxArgs(root: string, file: string, extra: string[] = [], nodeFlags: string[] = []): string[] {
  return [...nodeFlags, "--import", "tsx", join(root, file), ...extra];
}

/** Runs a TS file in a child Node process and returns its last stdout line as JSON. */
function runJson<T>(root: string, file: string, args: string[], nodeFlags: string[] = [], limitMs = 300_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tsxArgs(root, file, args, nodeFlags), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${file} exited with ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${file}: no JSON result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

/** The Node Registry in its own process; its stdout (the request log) goes to /dev/null. */
async function startNodeRegistry(root: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, tsxArgs(root, "bench/lib/registry-node.ts"), { cwd: root, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("registry child did not start in 30 s")), 30_000);
    child.once("message", (m: { url: string }) => {
      clearTimeout(t);
      resolve(m.url);
    });
    child.once("exit", (c) => reject(new Error(`registry child exited with ${c}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.send({ cmd: "stop" });
      }),
  };
}

const LONGPOLL = /long-poll/;

function loadFigures(prefix: "6" | "7", runtime: string, r: LoadResult, o: RegistryBenchOptions, targets: boolean): Figure[] {
  const figs: Figure[] = [];
  const hps = summarize(r.perWindow.map((w) => w.handshakesPerSec));
  figs.push({
    id: `${prefix}a`,
    name: `Registry handshakes per second (${runtime})`,
    unit: "handshakes/s",
    ...roundSummary(hps, 0),
    target: targets ? "≥ 1000" : "report",
    met: targets ? hps.median >= 1000 : null,
    note: `${o.concurrency} concurrent pairs, each running full handshakes back to back (create, join, offer, long-poll room, answer, one candidate batch with end per side, long-poll deltas until complete; then close). One run = one ${o.windowMs} ms window after ${o.warmupMs} ms warm-up. ${r.total} handshakes, ${r.requests} requests, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ""}.`,
  });
  figs.push({
    id: `${prefix}b`,
    name: `handshake latency p50, create → both complete (${runtime})`,
    unit: "ms",
    ...roundSummary(summarize(r.perWindow.map((w) => w.handshakeP50)), 1),
    target: "–",
    met: null,
    extra: { p99: roundSummary(summarize(r.perWindow.map((w) => w.handshakeP99)), 1) },
  });
  const eps = [...new Set(r.perWindow.flatMap((w) => Object.keys(w.endpoints)))].sort();
  const letters = "cdefghijklmnop";
  eps.forEach((ep, i) => {
    const wins = r.perWindow.filter((w) => w.endpoints[ep]);
    const p99 = summarize(wins.map((w) => w.endpoints[ep]!.p99));
    const p50 = summarize(wins.map((w) => w.endpoints[ep]!.p50));
    const lp = LONGPOLL.test(ep);
    figs.push({
      id: `${prefix}${letters[i]}`,
      name: `p99 latency ${ep} (${runtime})`,
      unit: "ms",
      ...roundSummary(p99, 2),
      target: targets && !lp ? "≤ 10 ms" : lp ? "– (includes the wait for the other side)" : "report",
      met: targets && !lp ? p99.median <= 10 : null,
      extra: { p50: roundSummary(p50, 2) as Summary, requestsPerWindow: Math.round(wins.reduce((n, w) => n + w.endpoints[ep]!.n, 0) / Math.max(1, wins.length)) },
    });
  });
  return figs;
}

export async function registryFigures(o: RegistryBenchOptions): Promise<{ figures: Figure[]; workerdOk: boolean }> {
  const figures: Figure[] = [];
  const loadArgs = (url: string) => [url, String(o.concurrency), String(o.warmupMs), String(o.windowMs), String(o.windows)];
  const loadLimit = o.warmupMs + o.windowMs * o.windows + 60_000;

  // ---- 6: Node ------------------------------------------------------------------------------
  o.log(`figure 6: Node Registry under load (${o.concurrency} pairs, ${o.windows} × ${o.windowMs} ms)`);
  const node = await startNodeRegistry(o.root);
  try {
    const r = await runJson<LoadResult>(o.root, "bench/lib/load.ts", loadArgs(node.url), [], loadLimit);
    o.log(`  ${r.total} handshakes, ${r.errors} errors; per window: ${r.perWindow.map((w) => w.handshakesPerSec.toFixed(0)).join(" ")} handshakes/s`);
    figures.push(...loadFigures("6", "Node", r, o, true));
  } finally {
    await node.stop();
  }

  o.log(`figure 6: memory per idle room (${o.memoryRooms} live rooms, ${o.memoryRuns} runs)`);
  const mem = await runJson<{ perRoom: number[]; rooms: number }>(o.root, "bench/lib/memory.ts", [String(o.memoryRooms), String(o.memoryRuns)], ["--expose-gc"]);
  const ms = summarize(mem.perRoom);
  figures.push({
    id: "6z",
    name: `memory per idle room at ${mem.rooms} live rooms (Node)`,
    unit: "bytes",
    ...roundSummary(ms, 0),
    target: "≤ 4 KB (4096 bytes)",
    met: ms.median <= 4096,
    note: "V8 heapUsed + external after full GCs, (with rooms − before) / rooms; rooms created with POST /rooms through the app (server/node.ts wiring, no sockets) and left open. One run = a fresh store of that many rooms.",
  });

  // ---- 7: workerd (Miniflare), where the local runtime allows ---------------------------------
  let workerdOk = false;
  o.log("figure 7: the same load against the Worker under workerd (Miniflare)");
  try {
    const { startWorkerd } = await import("../test/server/workerd-harness.ts");
    const wd = await startWorkerd({ ...NO_LIMITS });
    try {
      const r = await runJson<LoadResult>(o.root, "bench/lib/load.ts", loadArgs(wd.url), [], loadLimit);
      o.log(`  ${r.total} handshakes, ${r.errors} errors; per window: ${r.perWindow.map((w) => w.handshakesPerSec.toFixed(0)).join(" ")} handshakes/s`);
      figures.push(...loadFigures("7", "workerd", r, o, false));
      workerdOk = r.total > 0;
    } finally {
      await wd.close();
    }
  } catch (e) {
    o.log(`  workerd: not measured: ${(e as Error).message}`);
    figures.push({ id: "7a", name: "Registry under workerd", unit: "–", median: NaN, min: NaN, max: NaN, runs: 0, target: "report", met: null, note: `not measured: ${(e as Error).message.slice(0, 300)}` });
  }
  return { figures, workerdOk };
}
