/**
 * Figure 8 (issue #11): time to open as a player lives it, from both players starting (room
 * creation and join included), with the Registry on loopback and 100 ms away, and how many
 * sequential round trips to the Registry that is: (t100 − t0) / 100 per run.
 *
 * Per measurement: two fresh Chromium contexts (nothing cached, no preflight, no connection,
 * as a player's first visit), each a page with the drop-in `<registry-peer unreliable
 * auto-connect>`. The host's element is attached; the moment it reports `room-created` its
 * codes go to the guest's page, whose element is attached with them. Timed from attaching the
 * host's element to the later `peer-open`. The Registry (Node, every extension; in a process of
 * its own, as a real one is on another machine) sits behind a TCP delay proxy (bench/lib/delay-proxy.ts) adding 0 or 100 ms of RTT to every exchange; the
 * peer-to-peer path stays on loopback. Floor: two bare RTCPeerConnections with the same two
 * channels in two fresh contexts, this process relaying SDP and candidates. Per run the three
 * are measured back to back, order rotated; requests are counted from the Registry's own log
 * (preflights included), as figure 2.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { SpawnedRegistry } from "./lib/counting-registry.ts";
import { startBenchStatic, type BenchStatic } from "./lib/static.ts";
import { median, roundSummary, summarize, type Figure } from "./lib/stats.ts";

interface ChromiumModule {
  ensureChromium(): string;
  CHROMIUM_ARGS: string[];
}

export interface RoundtripOptions {
  root: string;
  runs: number;
  log: (msg: string) => void;
}

/** The added RTT of the far Registry; the figure's round-trip count divides by it. */
export const FAR_RTT_MS = 100;

type BenchWindow = { bench: Record<string, (...a: any[]) => any> };
type Timed = { start: number; open: number };
type Counted = { all: number; preflights: number; byRoute: Record<string, number> };

function call<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([fn, args]) => (window as unknown as BenchWindow).bench[fn as string]!(...(args as unknown[])),
    [fn, args] as const,
  ) as Promise<T>;
}

/** Two fresh contexts with the bench page loaded; `wire` runs before the pages load (bindings). */
async function players(
  browser: Browser,
  web: BenchStatic,
  wire: (host: Page, guest: Page) => Promise<void>,
): Promise<{ host: Page; guest: Page; close: () => Promise<void> }> {
  const ctxs: BrowserContext[] = [await browser.newContext(), await browser.newContext()];
  const close = async () => {
    await Promise.all(ctxs.map((c) => c.close().catch(() => {})));
  };
  try {
    const [host, guest] = (await Promise.all(ctxs.map((c) => c.newPage()))) as [Page, Page];
    await wire(host, guest);
    for (const p of [host, guest]) {
      await p.goto(`${web.url}/bench/pages/index.html`);
      await p.waitForFunction(() => (window as unknown as { bench?: { ready: boolean } }).bench?.ready === true, null, {
        timeout: 10_000,
      });
    }
    return { host, guest, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function roundtripFigures(o: RoundtripOptions): Promise<{ figures: Figure[] }> {
  const { ensureChromium, CHROMIUM_ARGS } = (await import("../scripts/chromium.mjs" as string)) as ChromiumModule;
  // The Registry and its delay proxies in a process of their own, as a real Registry is on
  // another machine (bench/lib/counting-child.ts).
  const reg = await SpawnedRegistry.spawn(o.root, {}, [0, FAR_RTT_MS]);
  const proxies = { near: { url: reg.proxies[0]! }, far: { url: reg.proxies[1]! } };
  const web = await startBenchStatic(o.root);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
    const b = browser;

    /** One player pair through the drop-in, via `proxy`; bounded by `limitMs`. */
    const elementOnce = async (proxy: { url: string }, limitMs: number): Promise<{ ms: number; requests: Counted }> => {
      await reg.settle();
      let gotCodes!: (c: { code: string; joinCode: string }) => void;
      const codes = new Promise<{ code: string; joinCode: string }>((r) => (gotCodes = r));
      const pp = await players(b, web, async (host) => {
        await host.exposeFunction("benchRoom", (c: { code: string; joinCode: string }) => gotCodes(c));
      });
      try {
        const from = Date.now();
        const hostRun = call<Timed>(pp.host, "elAuto", { baseUrl: proxy.url, role: "host", limitMs });
        const guestRun = codes.then((c) =>
          call<Timed>(pp.guest, "elAuto", { baseUrl: proxy.url, role: "guest", ...c, limitMs }),
        );
        // The host's own bound also ends a guest that never got its codes.
        const [h, g] = await Promise.all([hostRun, Promise.race([guestRun, hostRun.then(() => guestRun)])]);
        const open = Math.max(h.open, g.open);
        return { ms: open - h.start, requests: reg.countStarted(from, open) };
      } finally {
        await Promise.all([call(pp.host, "elTeardown").catch(() => {}), call(pp.guest, "elTeardown").catch(() => {})]);
        await pp.close();
      }
    };

    /** The floor: bare connections, SDP and candidates relayed by this process. */
    const floorOnce = async (sid: number): Promise<number> => {
      const relays: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
      let pages: [Page, Page] | undefined;
      const pp = await players(b, web, async (host, guest) => {
        pages = [host, guest];
        for (const [i, from] of [
          [0, host],
          [1, guest],
        ] as const) {
          await from.exposeFunction("benchSignal", (msg: unknown) => {
            const to = pages![1 - i]!;
            relays[i] = relays[i]!.then(() => call(to, "rawSignal", msg)).catch(() => {});
          });
        }
      });
      try {
        const [a, c] = await Promise.all([
          call<Timed>(pp.host, "rawConnect", "host", 10_000, sid),
          call<Timed>(pp.guest, "rawConnect", "guest", 10_000, sid),
        ]);
        return Math.max(a.open, c.open) - Math.min(a.start, c.start);
      } finally {
        await Promise.all([
          call(pp.host, "rawTeardown").catch(() => {}),
          call(pp.guest, "rawTeardown").catch(() => {}),
        ]);
        await pp.close();
      }
    };

    o.log(
      `figure 8: time to open from both players starting, Registry at +0 and +${FAR_RTT_MS} ms RTT (1 warm-up, then measured runs)`,
    );
    const near: number[] = [];
    const far: number[] = [];
    const floor: number[] = [];
    const trips: number[] = [];
    const farReq: number[] = [];
    const farPre: number[] = [];
    const nearReq: number[] = [];
    const routes: Record<string, number>[] = [];
    const failures: string[] = [];
    let sid = 1000;
    for (let run = -1; run < o.runs; run++) {
      const order = [
        ["floor", "near", "far"],
        ["near", "far", "floor"],
        ["far", "floor", "near"],
      ][(run + 3) % 3]!;
      const got: { floor?: number; near?: { ms: number; requests: Counted }; far?: { ms: number; requests: Counted } } =
        {};
      let current = "";
      try {
        for (const what of order) {
          current = what;
          if (what === "floor") got.floor = await floorOnce(++sid);
          else
            got[what as "near" | "far"] = await elementOnce(
              proxies[what as "near" | "far"],
              what === "far" ? 20_000 : 10_000,
            );
        }
      } catch (e) {
        failures.push(`${current}: ${(e as Error).message.split("\n")[0]!.replace(/^page\.evaluate: Error: /, "")}`);
        o.log(`  run ${run + 1}: failed (${failures.at(-1)}), running it again`);
        if (failures.length > 5) throw new Error(`figure 8: more than 5 failed runs: ${failures.join("; ")}`);
        run--;
        continue;
      }
      if (run < 0) continue;
      floor.push(got.floor!);
      near.push(got.near!.ms);
      far.push(got.far!.ms);
      trips.push((got.far!.ms - got.near!.ms) / FAR_RTT_MS);
      farReq.push(got.far!.requests.all);
      farPre.push(got.far!.requests.preflights);
      nearReq.push(got.near!.requests.all);
      routes.push(got.far!.requests.byRoute);
      o.log(
        `  run ${run + 1}/${o.runs}: floor ${got.floor!.toFixed(1)} ms, Registry +0 ms ${got.near!.ms.toFixed(1)} ms, +${FAR_RTT_MS} ms ${got.far!.ms.toFixed(1)} ms ` +
          `(${trips.at(-1)!.toFixed(2)} round trips; ${farReq.at(-1)} requests, ${farPre.at(-1)} preflights)`,
      );
    }

    const floorS = summarize(floor);
    const farS = summarize(far);
    const tripS = summarize(trips);
    const reqS = summarize(farReq);
    const perRoute: Record<string, number> = {};
    for (const r of [...new Set(routes.flatMap((x) => Object.keys(x)))].sort())
      perRoute[r.replace("OPTIONS unmatched", "OPTIONS (CORS preflight)")] = median(routes.map((x) => x[r] ?? 0));
    const failed = `Failed runs (repeated): ${failures.length ? failures.join("; ") : "none"}.`;
    const bound = (n: number) => Math.round((floorS.median + n * FAR_RTT_MS) * 10) / 10;
    const figures: Figure[] = [
      {
        id: "8a",
        name: "time to open from both players starting (create + join included), Registry on loopback",
        unit: "ms",
        ...roundSummary(summarize(near), 1),
        target: "–",
        met: null,
        note: "Drop-in <registry-peer unreliable auto-connect> in two fresh Chromium contexts; timed from attaching the host's element to the later peer-open; the guest's element is attached with the codes the moment room-created fires. Registry behind the delay proxy with 0 ms added.",
      },
      {
        id: "8b",
        name: `time to open from both players starting, Registry ${FAR_RTT_MS} ms away`,
        unit: "ms",
        ...roundSummary(farS, 1),
        target: `≤ floor + 4 × ${FAR_RTT_MS} ms (stretch + 3 ×)`,
        met: farS.median <= floorS.median + 4 * FAR_RTT_MS,
        note: `A TCP delay proxy adds ${FAR_RTT_MS} ms RTT to every Registry exchange (half each way, chunk by chunk; connection setup to the proxy is not delayed); peer-to-peer stays on loopback. Bound this run: ${bound(4)} ms (stretch ${bound(3)} ms). ${failed}`,
        extra: {
          floorMedian: floorS.median,
          stretchBound: bound(3),
          stretchMet: String(farS.median <= floorS.median + 3 * FAR_RTT_MS),
        },
      },
      {
        id: "8c",
        name: "sequential round trips to the Registry, (t100 − t0) / 100",
        unit: "round trips",
        ...roundSummary(tripS, 2),
        target: "≤ 4 (stretch 3)",
        met: tripS.median <= 4,
        note: `Per run: (8b − 8a) / ${FAR_RTT_MS} ms, measured back to back.`,
      },
      {
        id: "8d",
        name: "Registry requests per handshake from both players starting, incl. CORS preflights",
        unit: "requests",
        ...reqS,
        target: "≤ 8",
        met: reqS.median <= 8,
        note: "From the Registry's request log: every request that started between attaching the host's element and both peer-open (create and join included, long-polls in flight at open included), at +100 ms. Fresh contexts: no preflight is cached from an earlier run.",
        extra: {
          preflights: summarize(farPre),
          atLoopback: summarize(nearReq),
          medianPerRoute: JSON.stringify(perRoute),
        },
      },
      {
        id: "8e",
        name: "time to open, floor (fresh contexts, harness relays SDP/candidates)",
        unit: "ms",
        ...roundSummary(floorS, 1),
        target: "–",
        met: null,
      },
    ];
    return { figures };
  } finally {
    await browser?.close().catch(() => {});
    await web.close();
    await reg.reg.close();
  }
}
