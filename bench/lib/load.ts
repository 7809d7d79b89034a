/**
 * Figure 6/7's load generator, a process of its own (so it does not share an event loop with
 * the server): `concurrency` pairs each run full handshakes back to back against `url`.
 * After `warmupMs`, time is cut into `windows` windows of `windowMs`; each window is one run:
 * handshakes completed per second, and per endpoint the p50/p99 of the requests that
 * completed in it. Prints one JSON line on stdout.
 * Usage: tsx bench/lib/load.ts <url> <concurrency> <warmupMs> <windowMs> <windows> [bare]
 * With `bare`, each of the `concurrency` loops sends plain GET / requests instead (the
 * reference server); "handshakes" are then single requests.
 */
import { Http, handshake } from "./handshake.ts";
import { percentile } from "./stats.ts";

const [url, conc, warm, win, wins, mode] = process.argv.slice(2);
const bare = mode === "bare";
const concurrency = Number(conc);
const warmupMs = Number(warm);
const windowMs = Number(win);
const windows = Number(wins);
const http = new Http(new URL(url!));
const done: { at: number; ms: number }[] = [];
let errors = 0;
let firstError = "";
const t0 = performance.now();
const tEnd = t0 + warmupMs + windowMs * windows;

async function bareRequest(): Promise<number> {
  const t = performance.now();
  await http.call("GET", "/", "GET / (bare)");
  return performance.now() - t;
}

async function pair(): Promise<void> {
  while (performance.now() < tEnd && errors < 50) {
    try {
      const ms = bare ? await bareRequest() : await handshake(http);
      done.push({ at: performance.now(), ms });
    } catch (e) {
      errors++;
      firstError ||= (e as Error).message;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, pair));
http.agent.destroy();

const perWindow: {
  handshakesPerSec: number;
  requestsPerSec: number;
  handshakeP50: number;
  handshakeP99: number;
  endpoints: Record<string, { n: number; p50: number; p99: number }>;
}[] = [];
for (let w = 0; w < windows; w++) {
  const a = t0 + warmupMs + w * windowMs;
  const b = a + windowMs;
  const hs = done.filter((d) => d.at >= a && d.at < b);
  const byEp = new Map<string, number[]>();
  let requests = 0;
  for (const t of http.timings) {
    if (t.at < a || t.at >= b) continue;
    requests++;
    let l = byEp.get(t.endpoint);
    if (!l) byEp.set(t.endpoint, (l = []));
    l.push(t.ms);
  }
  const endpoints: Record<string, { n: number; p50: number; p99: number }> = {};
  for (const [ep, l] of byEp) endpoints[ep] = { n: l.length, p50: percentile(l, 50), p99: percentile(l, 99) };
  perWindow.push({
    handshakesPerSec: hs.length / (windowMs / 1000),
    requestsPerSec: requests / (windowMs / 1000),
    handshakeP50: percentile(
      hs.map((d) => d.ms),
      50,
    ),
    handshakeP99: percentile(
      hs.map((d) => d.ms),
      99,
    ),
    endpoints,
  });
}
process.stdout.write(
  `${JSON.stringify({ perWindow, errors, firstError, total: done.length, requests: http.timings.length })}\n`,
);
