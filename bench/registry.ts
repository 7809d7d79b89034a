/**
 * Figures 6 and 7: the Registry under load on loopback. The server runs in a process of its
 * own (Node: bench/lib/registry-node.ts; workerd: Miniflare's workerd process), the load
 * generator (bench/lib/load.ts) in another, running full synthetic handshakes with long-poll on.
 * Memory per idle room: bench/lib/memory.ts (Node only).
 * Sweep cost at 100,000 rooms (figure 6s): bench/lib/sweep.ts, run alone by `--only=sweep`.
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
  perWindow: { handshakesPerSec: number; requestsPerSec: number; handshakeP50: number; handshakeP99: number; endpoints: Record<string, { n: number; p50: number; p99: number }> }[];
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

/** A server file (registry-node.ts, bare-server.ts) in its own process; its stdout (the request log) goes to /dev/null. */
async function startServerChild(root: string, file: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, tsxArgs(root, file), { cwd: root, stdio: ["ignore", "ignore", "inherit", "ipc"] });
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

interface Phases {
  sat: LoadResult;
  light: LoadResult;
  bare?: LoadResult;
}

function loadFigures(prefix: "6" | "7", runtime: string, r: Phases, o: RegistryBenchOptions, targets: boolean): Figure[] {
  const figs: Figure[] = [];
  const sat = r.sat.perWindow;
  const light = r.light.perWindow;
  const hps = summarize(sat.map((w) => w.handshakesPerSec));
  const errs = (x: LoadResult) => `${x.total} handshakes, ${x.requests} requests, ${x.errors} errors${x.firstError ? ` (first: ${x.firstError})` : ""}`;
  figs.push({
    id: `${prefix}a`,
    name: `Registry handshakes per second, saturated (${runtime})`,
    unit: "handshakes/s",
    ...roundSummary(hps, 0),
    target: targets ? "≥ 1000" : "report",
    met: targets ? hps.median >= 1000 : null,
    note: `${o.concurrency} concurrent pairs, each running full handshakes back to back (create, join, offer, long-poll room, answer, one candidate batch with end per side, long-poll deltas until complete; then close: ~12 requests). One run = one ${o.windowMs} ms window after ${o.warmupMs} ms warm-up. ${errs(r.sat)}.`,
  });
  const rps = summarize(sat.map((w) => w.requestsPerSec));
  figs.push({ id: `${prefix}a-rps`, name: `Registry requests per second, saturated (${runtime})`, unit: "requests/s", ...roundSummary(rps, 0), target: "–", met: null });
  if (r.bare) {
    const bare = r.bare.perWindow;
    const n = Math.min(bare.length, sat.length);
    figs.push({
      id: `${prefix}a-ref`,
      name: "reference: bare node:http server, requests per second (same generator, same run)",
      unit: "requests/s",
      ...roundSummary(summarize(bare.map((w) => w.requestsPerSec)), 0),
      target: "–",
      met: null,
      note: `No framework, no work: what one Node HTTP process can answer on this machine at all. ${o.concurrency * 2} concurrent request loops. ${errs(r.bare)}.`,
    });
    figs.push({
      id: `${prefix}a-ratio`,
      name: `Registry requests/s ÷ bare node:http requests/s (${runtime})`,
      unit: "ratio",
      ...roundSummary(summarize(Array.from({ length: n }, (_, i) => sat[i]!.requestsPerSec / bare[i]!.requestsPerSec)), 3),
      target: "–",
      met: null,
      note: "Window i of the Registry against window i of the bare server.",
    });
  }
  figs.push({
    id: `${prefix}b`,
    name: `handshake latency p50, create → both complete, one pair, unloaded (${runtime})`,
    unit: "ms",
    ...roundSummary(summarize(light.map((w) => w.handshakeP50)), 1),
    target: "–",
    met: null,
    note: `Unloaded: ${LIGHT_PAIRS} pair running handshakes back to back. ${errs(r.light)}.`,
    extra: { p99Unloaded: roundSummary(summarize(light.map((w) => w.handshakeP99)), 1), p50Saturated: roundSummary(summarize(sat.map((w) => w.handshakeP50)), 1) },
  });
  const eps = [...new Set(light.flatMap((w) => Object.keys(w.endpoints)))].sort();
  const letters = "cdefghijklmnop";
  eps.forEach((ep, i) => {
    const wins = light.filter((w) => w.endpoints[ep]);
    const swins = sat.filter((w) => w.endpoints[ep]);
    const p99 = summarize(wins.map((w) => w.endpoints[ep]!.p99));
    const lp = LONGPOLL.test(ep);
    figs.push({
      id: `${prefix}${letters[i]}`,
      name: `p99 latency ${ep}, one pair, unloaded (${runtime})`,
      unit: "ms",
      ...roundSummary(p99, 2),
      target: lp ? "– (includes the wait for the other side)" : targets ? "≤ 10 ms" : "report",
      met: targets && !lp ? p99.median <= 10 : null,
      note: i === 0 ? `Client-side latency over keep-alive loopback, one pair at a time (${LIGHT_PAIRS} pair); extra: p50 unloaded and p99 when saturated (${o.concurrency} pairs, queueing included).` : undefined,
      extra: {
        p50Unloaded: roundSummary(summarize(wins.map((w) => w.endpoints[ep]!.p50)), 2) as Summary,
        p99Saturated: roundSummary(summarize(swins.map((w) => w.endpoints[ep]!.p99)), 2) as Summary,
        requestsPerWindowUnloaded: Math.round(wins.reduce((n, w) => n + w.endpoints[ep]!.n, 0) / Math.max(1, wins.length)),
      },
    });
  });
  return figs;
}

/** Pairs in the unloaded phase, where per-endpoint latency is read without queueing. */
const LIGHT_PAIRS = 1;

export async function registryFigures(o: RegistryBenchOptions): Promise<{ figures: Figure[]; workerdOk: boolean }> {
  const figures: Figure[] = [];
  const loadArgs = (url: string, pairs: number, bare = false) => [url, String(pairs), String(o.warmupMs), String(o.windowMs), String(o.windows), ...(bare ? ["bare"] : [])];
  const loadLimit = o.warmupMs + o.windowMs * o.windows + 60_000;
  const load = (url: string, pairs: number, bare = false) => runJson<LoadResult>(o.root, "bench/lib/load.ts", loadArgs(url, pairs, bare), [], loadLimit);
  const perWin = (r: LoadResult, k: "handshakesPerSec" | "requestsPerSec") => r.perWindow.map((w) => w[k].toFixed(0)).join(" ");

  // ---- 6: Node ------------------------------------------------------------------------------
  o.log(`figure 6: reference bare node:http server (${o.concurrency * 2} loops, ${o.windows} × ${o.windowMs} ms)`);
  const bareSrv = await startServerChild(o.root, "bench/lib/bare-server.ts");
  let bare: LoadResult;
  try {
    bare = await load(bareSrv.url, o.concurrency * 2, true);
    o.log(`  requests/s per window: ${perWin(bare, "requestsPerSec")}`);
  } finally {
    await bareSrv.stop();
  }
  o.log(`figure 6: Node Registry saturated (${o.concurrency} pairs), then one pair at a time (${LIGHT_PAIRS} pair)`);
  const node = await startServerChild(o.root, "bench/lib/registry-node.ts");
  try {
    const sat = await load(node.url, o.concurrency);
    o.log(`  saturated: ${sat.total} handshakes, ${sat.errors} errors; handshakes/s per window: ${perWin(sat, "handshakesPerSec")}`);
    const light = await load(node.url, LIGHT_PAIRS);
    o.log(`  one pair: ${light.total} handshakes, ${light.errors} errors; handshakes/s per window: ${perWin(light, "handshakesPerSec")}`);
    figures.push(...loadFigures("6", "Node", { sat, light, bare }, o, true));
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
    target: "≤ 4 KB (4000 bytes)",
    met: ms.median <= 4000,
    note: "V8 heapUsed + external after full GCs, (with rooms − before) / rooms; rooms created with POST /rooms through the app (server/node/registry.ts wiring, no sockets) and left open. One run = a fresh store of that many rooms.",
  });

  // ---- 7: workerd (Miniflare), where the local runtime allows ---------------------------------
  let workerdOk = false;
  o.log("figure 7: the same load against the Worker under workerd (Miniflare)");
  try {
    const { startWorkerd } = await import("../test/server/workerd-harness.ts");
    const wd = await startWorkerd({ ...NO_LIMITS });
    try {
      const sat = await load(wd.url, o.concurrency);
      o.log(`  saturated: ${sat.total} handshakes, ${sat.errors} errors; handshakes/s per window: ${perWin(sat, "handshakesPerSec")}`);
      const light = await load(wd.url, LIGHT_PAIRS);
      o.log(`  one pair: ${light.total} handshakes, ${light.errors} errors; handshakes/s per window: ${perWin(light, "handshakesPerSec")}`);
      figures.push(...loadFigures("7", "workerd", { sat, light }, o, false));
      workerdOk = sat.total > 0;
    } finally {
      await wd.close();
    }
  } catch (e) {
    o.log(`  workerd: not measured: ${(e as Error).message}`);
    figures.push({ id: "7a", name: "Registry under workerd", unit: "–", median: NaN, min: NaN, max: NaN, runs: 0, target: "report", met: null, note: `not measured: ${(e as Error).message.slice(0, 300)}` });
  }
  return { figures, workerdOk };
}

export interface SweepBenchOptions {
  root: string;
  rooms: number;
  seconds: number;
  log: (msg: string) => void;
}

/**
 * Figure 6s: the TTL sweep's cost per second at `rooms` rooms (issue 13: ≤ 1 ms of event loop
 * per second), against the full pass it replaced. In a child process (bench/lib/sweep.ts).
 */
export async function sweepFigures(o: SweepBenchOptions): Promise<Figure[]> {
  o.log(`figure 6s: TTL sweep at ${o.rooms} rooms (${o.seconds} simulated seconds)`);
  const r = await runJson<{ rooms: number; seconds: number; heapMs: number[]; heapCpuMs: number[]; fullMs: number[]; fullCpuMs: number[]; expiredPerSec: number; gone: number }>(
    o.root,
    "bench/lib/sweep.ts",
    [String(o.rooms), String(o.seconds)],
  );
  const wall = summarize(r.heapMs);
  const cpu = summarize(r.heapCpuMs);
  o.log(`  per sweep: median ${wall.median.toFixed(3)} ms wall, ${cpu.median.toFixed(3)} ms CPU; full pass median ${summarize(r.fullMs).median.toFixed(1)} ms`);
  return [
    {
      id: "6s",
      name: `TTL sweep, event-loop time per second at ${r.rooms} rooms (Node)`,
      unit: "ms",
      ...roundSummary(wall, 3),
      target: "≤ 1 ms",
      met: wall.median <= 1,
      note: `One sweep per simulated second, ${r.seconds} seconds; rooms created over one open TTL so ~${r.expiredPerSec} expire each second (and ${r.gone} tombstones were dropped in the run). Min-heap of expiry times (server/core/expiry.ts): only due rooms are visited. Wall time on a shared machine; extra: CPU time.`,
      extra: { cpu: roundSummary(cpu, 3) },
    },
    {
      id: "6s-ref",
      name: `reference: the former full pass over ${r.rooms} rooms, per second (Node)`,
      unit: "ms",
      ...roundSummary(summarize(r.fullMs), 1),
      target: "–",
      met: null,
      note: "A tick op on every stored room, as sweep() did before the heap. Extra: CPU time.",
      extra: { cpu: roundSummary(summarize(r.fullCpuMs), 1) },
    },
  ];
}
