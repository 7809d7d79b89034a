/**
 * Firefox ESR ↔ Chromium through the real drop-in page (demo/plain.html) and the Node Registry,
 * in both directions: Firefox hosts and Chromium joins through the share link, then the reverse.
 * 1,000 reliable packets each way arrive in order; unreliable ones arrive as unreliable; the host
 * learns when the guest leaves. Firefox is driven by puppeteer-core over WebDriver BiDi (no
 * geckodriver; Playwright cannot drive a stock Firefox). When Firefox is missing, setup installs
 * Debian's firefox-esr with apt (and says so); when that is impossible, the tests skip loudly.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import puppeteer, { type Browser as PBrowser, type Page as PPage } from "puppeteer-core";
import {
  events, packets, player, recordPeerEvents, sendMany, setup, waitForEvent, waitForPackets, type Env, type PageLike,
} from "./helpers.ts";

interface FirefoxModule {
  ensureFirefox(o?: { log?: (s: string) => void }): { path: string; why?: undefined } | { path: null; why: string };
}

const N = 1000;
/** Firefox's first start on 2 shared cores can take a while. */
const LAUNCH_MS = 120_000;
let env: Env | undefined;
let firefox: PBrowser | undefined;
let skipWhy: string | undefined;

before(async () => {
  const { ensureFirefox } = (await import("../../scripts/firefox.mjs" as string)) as FirefoxModule;
  const ff = ensureFirefox();
  if (!ff.path) {
    skipWhy = `Firefox ↔ Chromium e2e SKIPPED: ${ff.why}`;
    console.warn(`\n*** ${skipWhy} ***\n`);
    return;
  }
  env = await setup();
  firefox = await puppeteer.launch({
    browser: "firefox",
    executablePath: ff.path,
    headless: true,
    protocol: "webDriverBiDi",
    timeout: LAUNCH_MS,
    protocolTimeout: LAUNCH_MS,
  });
  console.log(`[setup] ${await firefox.version()} (${ff.path}) over WebDriver BiDi`);
  // apt (bounded at 15 min in ensureFirefox) only when Firefox was missing; then the launch.
}, { timeout: 15 * 60_000 + LAUNCH_MS + 60_000 });

after(async () => {
  await firefox?.close().catch(() => {});
  await env?.close();
});

type Player = PageLike & { goto(url: string): Promise<unknown>; name: string };

/**
 * A puppeteer page as the helpers' PageLike. puppeteer spreads extra arguments where Playwright
 * takes one, and takes the wait options before them; only these two methods are used.
 */
function adapt(p: PPage): PageLike {
  const port = {
    evaluate: (fn: (arg: unknown) => unknown, arg?: unknown) => p.evaluate(fn, arg),
    waitForFunction: (fn: (arg: unknown) => unknown, arg: unknown, o: { timeout: number; polling: number }) =>
      p.waitForFunction(fn, { timeout: o.timeout, polling: o.polling }, arg),
  };
  return port as unknown as PageLike;
}

async function firefoxPlayer(name: string): Promise<Player> {
  const ctx = await firefox!.createBrowserContext();
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error(`[${name}] page error: ${(e as Error).message}`));
  await page.evaluateOnNewDocument(recordPeerEvents);
  return Object.assign(adapt(page), { goto: (url: string) => page.goto(url), name });
}

async function chromiumPlayer(name: string): Promise<Player> {
  const page = await player(env!, name);
  return Object.assign(page, { name }) as unknown as Player;
}

async function openBoth(host: Player, guest: Player): Promise<void> {
  try {
    await Promise.all([waitForEvent(host, "peer-open", 30_000), waitForEvent(guest, "peer-open", 30_000)]);
  } catch (e) {
    const show = async (p: Player) => `${p.name}: ${(await events(p).catch(() => [])).map((x) => `${x.type} ${JSON.stringify(x.detail)}`).join(" | ")}`;
    throw new Error(`${(e as Error).message}\n  ${await show(host)}\n  ${await show(guest)}`);
  }
}

const browsers = { firefox: firefoxPlayer, chromium: chromiumPlayer };

describe("Firefox ESR ↔ Chromium through <registry-peer> (WebDriver BiDi)", () => {
  for (const [hostKind, guestKind] of [["firefox", "chromium"], ["chromium", "firefox"]] as const) {
    it(`${hostKind} hosts, ${guestKind} joins: ${N} reliable packets each way in order`, { timeout: 120_000 }, async (t) => {
      if (skipWhy) return t.skip(skipWhy);
      const host = await browsers[hostKind](`${hostKind}-host`);
      await host.goto(`${env!.web.url}/demo/plain.html`);
      const { shareUrl } = (await waitForEvent(host, "room-created", 30_000)).detail as { shareUrl: string };
      const guest = await browsers[guestKind](`${guestKind}-guest`);
      await guest.goto(shareUrl);
      await openBoth(host, guest);
      assert.equal(await guest.evaluate(() => document.querySelector("registry-peer")!.state.role), "guest");

      const expected = Array.from({ length: N }, (_, i) => `r:${i}`);
      await Promise.all([sendMany(host, N, "r:", true), sendMany(guest, N, "r:", true)]);
      await Promise.all([waitForPackets(host, "r:", N, 30_000), waitForPackets(guest, "r:", N, 30_000)]);
      for (const p of [host, guest]) {
        const got = await packets(p, "r:");
        assert.deepEqual(got.map((x) => x.data), expected, `${p.name} received in order`);
        assert.ok(got.every((x) => x.reliable), `${p.name}: reliable packets marked reliable`);
      }

      await sendMany(host, 50, "u:", false);
      await waitForPackets(guest, "u:", 1, 10_000);
      assert.ok((await packets(guest, "u:")).every((x) => !x.reliable), "unreliable packets arrive as unreliable");

      const t0 = Date.now();
      await guest.evaluate(() => document.querySelector("registry-peer")!.close("bye"));
      await waitForEvent(host, "peer-close", 10_000, t0 - 5);
      for (const p of [host, guest]) {
        assert.deepEqual((await events(p, "peer-error")).map((e) => e.detail), [], `${p.name} peer-error`);
      }
    });
  }
});
