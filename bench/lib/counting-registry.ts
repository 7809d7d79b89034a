/**
 * A Node Registry on loopback that keeps its own request log (the `log` callback), so the
 * browser figures count every request a handshake cost as the server saw it, preflights
 * included. Rate limits are off (bench/lib/limits.ts).
 */
import { startRegistry, type RunningRegistry } from "../../server/node/registry.ts";
import { NO_LIMITS } from "./limits.ts";

/** One request as the server logged it: start = completion time − latency (epoch ms). */
export interface Logged {
  start: number;
  end: number;
  route: string;
}

export class CountingRegistry {
  readonly lines: Logged[] = [];
  lastAt = 0;
  constructor(readonly reg: RunningRegistry) {}
  static async start(env: Record<string, string>): Promise<CountingRegistry> {
    let self: CountingRegistry | undefined;
    const pending: string[] = [];
    const reg = await startRegistry({
      port: 0,
      host: "127.0.0.1",
      env: { ...NO_LIMITS, ...env },
      log: (line) => (self ? self.add(line) : pending.push(line)),
    });
    self = new CountingRegistry(reg);
    for (const l of pending) self.add(l);
    return self;
  }
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
