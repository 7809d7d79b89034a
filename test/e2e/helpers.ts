/**
 * E2E plumbing: a real Node Registry and the demo's static server (both on port 0), one
 * headless Chromium, and pages whose <registry-peer> events are recorded from the first
 * script on (addInitScript), so nothing is missed between navigation and the test's checks.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startRegistry, type RunningRegistry } from "../../server/node/registry.ts";
import { startStatic, type StaticServer } from "../../server/dev/start.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface ChromiumModule {
  ensureChromium(): string;
  CHROMIUM_ARGS: string[];
}

export interface Env {
  registry: RegistryHandle;
  web: StaticServer;
  browser: Browser;
  contexts: BrowserContext[];
  close(): Promise<void>;
}

/** Builds the drop-in once when dist/ is missing (npm test builds before e2e anyway). */
function ensureBuilt(): void {
  if (existsSync(`${ROOT}/dist/registry-peer.js`)) return;
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("npm run build failed");
}

/** A running Registry of either runtime, as the e2e tests need it. */
export type RegistryHandle = Pick<RunningRegistry, "url" | "port" | "close">;

/**
 * The Registry (Node, in-process, unless `start` gives another, e.g. workerd), the static
 * server and one Chromium. Whatever started is stopped again if a later step fails.
 */
export async function setup(
  registryEnv: Record<string, string> = {},
  // No public STUN servers unless a test asks: tests never send traffic off this machine.
  start: () => Promise<RegistryHandle> = () =>
    startRegistry({ port: 0, host: "127.0.0.1", env: { STUN_URLS: "", ...registryEnv }, log: () => {} }),
): Promise<Env> {
  ensureBuilt();
  const { ensureChromium, CHROMIUM_ARGS } = (await import("../../scripts/chromium.mjs" as string)) as ChromiumModule;
  const registry = await start();
  let web: StaticServer | undefined;
  let browser: Browser;
  try {
    web = await startStatic({ registryUrl: registry.url });
    browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    await web?.close();
    await registry.close();
    throw e;
  }
  const server = web;
  return {
    registry,
    web: server,
    browser,
    contexts: [],
    async close() {
      await browser.close().catch(() => {});
      await server.close();
      await registry.close();
    },
  };
}

/**
 * What the page helpers below use of a page. Playwright's Page has it; firefox.test.ts adapts a
 * puppeteer (WebDriver BiDi) page to it.
 */
export type PageLike = Pick<Page, "evaluate" | "waitForFunction">;

export interface Recorded {
  type: string;
  detail: unknown;
  at: number;
}

/**
 * Runs in the page before its own scripts (any driver's init script): records <registry-peer>
 * events and the test packets into `window.rp`, which the helpers below read.
 */
export function recordPeerEvents(): void {
  const w = window as unknown as { rp: { ev: Recorded[]; packets: { data: string; reliable: boolean }[] } };
  w.rp = { ev: [], packets: [] };
  for (const type of [
    "phase-change",
    "room-created",
    "peer-open",
    "peer-close",
    "peer-error",
    "drain",
    "reconnecting",
    "reconnected",
  ]) {
    document.addEventListener(type, (e) =>
      w.rp.ev.push({ type, detail: (e as CustomEvent).detail ?? null, at: Date.now() }),
    );
  }
  // Test packets ("r:…", "u:…") are kept; the demo's own JSON traffic is not.
  document.addEventListener("packet", (e) => {
    const d = (e as CustomEvent<{ data: unknown; reliable: boolean }>).detail;
    if (typeof d.data === "string" && /^[ru]:/.test(d.data)) w.rp.packets.push({ data: d.data, reliable: d.reliable });
  });
}

/** A page in its own browser context (its own storage, its own process): one player. */
export async function player(env: Env, name: string): Promise<Page> {
  const ctx = await env.browser.newContext();
  env.contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error(`[${name}] page error: ${e.message}`));
  await page.addInitScript(recordPeerEvents);
  return page;
}

export function events(page: PageLike, type?: string): Promise<Recorded[]> {
  return page.evaluate((t) => {
    const ev = (window as unknown as { rp: { ev: Recorded[] } }).rp.ev;
    return t ? ev.filter((e) => e.type === t) : ev;
  }, type);
}

/** Resolves with the first recorded event of `type` (recorded at or after `since`, epoch ms). */
export async function waitForEvent(page: PageLike, type: string, timeoutMs: number, since = 0): Promise<Recorded> {
  const handle = await page.waitForFunction(
    ([t, s]) =>
      (window as unknown as { rp: { ev: Recorded[] } }).rp.ev.find((e) => e.type === t && e.at >= (s as number)) ??
      null,
    [type, since] as const,
    { timeout: timeoutMs, polling: 20 },
  );
  return (await handle.jsonValue()) as Recorded;
}

/**
 * Sends `n` packets "<prefix><i>" from the page's element, honouring backpressure: when send()
 * returns false the page waits for `drain` and sends the same packet again.
 */
export function sendMany(page: PageLike, n: number, prefix: string, reliable: boolean): Promise<number> {
  return page.evaluate(
    async ([n, prefix, reliable]) => {
      const el = document.querySelector("registry-peer")!;
      let refused = 0;
      for (let i = 0; i < (n as number); i++) {
        while (!el.send(`${prefix}${i}`, { reliable: reliable as boolean })) {
          refused++;
          await new Promise((r) => el.addEventListener("drain", r, { once: true }));
        }
      }
      return refused;
    },
    [n, prefix, reliable] as const,
  );
}

export function packets(page: PageLike, prefix: string): Promise<{ data: string; reliable: boolean }[]> {
  return page.evaluate(
    (p) =>
      (window as unknown as { rp: { packets: { data: string; reliable: boolean }[] } }).rp.packets.filter((x) =>
        x.data.startsWith(p),
      ),
    prefix,
  );
}

export async function waitForPackets(page: PageLike, prefix: string, count: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    ([p, c]) =>
      (window as unknown as { rp: { packets: { data: string }[] } }).rp.packets.filter((x) =>
        x.data.startsWith(p as string),
      ).length >= (c as number),
    [prefix, count] as const,
    { timeout: timeoutMs, polling: 50 },
  );
}
