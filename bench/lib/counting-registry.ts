/**
 * A Node Registry on loopback, in a child process of its own (bench/lib/counting-child.ts: a
 * real Registry runs on another machine, not in the harness's event loop), with delay proxies
 * in front and its request log sent back line by line, so the browser figures count every
 * request a handshake cost as the server saw it, preflights included. Rate limits are off
 * (bench/lib/limits.ts).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

/** One request as the server logged it: start = completion time − latency (epoch ms). */
export interface Logged {
  start: number;
  end: number;
  route: string;
}

/** The requests a Registry logged, as the server saw them. */
export class RequestLog {
  readonly lines: Logged[] = [];
  lastAt = 0;
  add(line: string): void {
    const j = JSON.parse(line) as { t: string; ms: number; route: string; method: string };
    const end = Date.parse(j.t);
    this.lines.push({ start: end - j.ms, end, route: `${j.method} ${j.route}` });
    this.lastAt = Date.now();
  }
  /** Requests that started in [from, to] (ms; the log has ms resolution, hence the 1 ms slack on `from`). */
  countStarted(from: number, to: number): { all: number; preflights: number; byRoute: Record<string, number> } {
    const hit = this.lines.filter((l) => l.start >= from - 1 && l.start <= to);
    if (process.env.BENCH_DEBUG)
      console.log(hit.map((l) => `${l.start - from}+${l.end - l.start} ${l.route}`).join("\n"));
    const byRoute: Record<string, number> = {};
    for (const l of hit) byRoute[l.route] = (byRoute[l.route] ?? 0) + 1;
    return { all: hit.length, preflights: hit.filter((l) => l.route.startsWith("OPTIONS ")).length, byRoute };
  }
  /** Waits until no request has completed for `quietMs` (bounded by `limitMs`). */
  async settle(quietMs = 150, limitMs = 3000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < limitMs && Date.now() - this.lastAt < quietMs) await sleep(25);
    await sleep(quietMs);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Registry in a child process of its own, with its request log and delay proxies. */
export class SpawnedRegistry extends RequestLog {
  constructor(
    readonly reg: { url: string; port: number; close(): Promise<void> },
    /** One delay proxy URL per requested RTT, in order. */
    readonly proxies: string[],
  ) {
    super();
  }
  /** A Registry in a child process (bench/lib/counting-child.ts), with a delay proxy per RTT in `rtts`. */
  static async spawn(root: string, env: Record<string, string>, rtts: number[] = []): Promise<SpawnedRegistry> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "bench/lib/counting-child.ts"), JSON.stringify({ env, rtts })],
      { cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    const pending: string[] = [];
    let self: SpawnedRegistry | undefined;
    child.on("message", (m: { log?: string }) => {
      if (typeof m?.log === "string") self ? self.add(m.log) : pending.push(m.log);
    });
    const ready = await new Promise<{ port: number; proxies: string[] }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("registry child did not start in 30 s")), 30_000);
      child.on("message", (m: { ready?: { port: number; proxies: string[] } }) => {
        if (!m?.ready) return;
        clearTimeout(t);
        resolve(m.ready);
      });
      child.once("exit", (c) => {
        clearTimeout(t);
        reject(new Error(`registry child exited with ${c}`));
      });
    });
    const close = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.send({ cmd: "stop" });
      });
    self = new SpawnedRegistry({ url: `http://127.0.0.1:${ready.port}`, port: ready.port, close }, ready.proxies);
    for (const l of pending) self.add(l);
    return self;
  }
}
