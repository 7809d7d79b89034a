/**
 * Bots and game servers: RegistryClient in Node with a W3C RTCPeerConnection from
 * node-datachannel (libdatachannel) and from werift (pure TypeScript), each running
 * examples/node-bot.ts (the documented echo bot) against the real <registry-peer> drop-in page
 * in Chromium, through the Node Registry. The bot hosts and the page joins through its share
 * link; the page hosts and the bot joins through the page's share link. Each way 1,000 reliable
 * packets go page → bot and come back in order; unreliable ones arrive as unreliable; the side
 * that stays is told when the other leaves.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { cleanup as ndcCleanup, initLogger as ndcLogger } from "node-datachannel";
import { RTCPeerConnection as NodeDataChannelPc } from "node-datachannel/polyfill";
import { RTCPeerConnection as WeriftPc } from "werift";
import { startEchoBot, type EchoBot } from "../../examples/node-bot.ts";
import { patchWeriftReassembly, type PeerConnectionClass } from "../../src/client/node.ts";
import { events, packets, player, sendMany, setup, waitForEvent, waitForPackets, type Env } from "./helpers.ts";

const N = 1000;
/**
 * libdatachannel (0.24.5, in node-datachannel 0.33.4) as the DTLS server can check the browser's
 * certificate before it has stored the answer's fingerprint: it logs this alert and both sides
 * fail before opening (1 handshake in 10 to 1 in 4 here with a node-datachannel host, more under
 * load). Documented in the README; the test retries that one failure up to twice, loudly, and
 * nothing else.
 */
const LIBDATACHANNEL_DTLS_RACE = "DTLS alert: unknown CA";

/**
 * werift 0.24.4's SCTP receiver sometimes acknowledges reliable chunks from Chromium and never
 * delivers them (seen after heavy retransmission in a 1,000-packet burst, about 1 run in 8 to
 * 14 here, with or without patchWeriftReassembly; traces: a message's first fragment gone from
 * reassembly while its TSN is acknowledged). Documented in the README. Thrown only when the
 * browser counted every packet as sent, werift's SCTP has nothing outstanding (every TSN it was
 * sent is acknowledged, no gaps) and yet the bot got fewer: the test then retries with a new
 * room, loudly, twice at most; any other shortfall fails.
 */
class WeriftLostAckedData extends Error {}
/** werift's connections, to read their SCTP state when a burst falls short. */
const weriftPcs: object[] = [];
class WeriftSeen extends (WeriftPc as unknown as new (cfg: never) => object) {
  constructor(cfg: never) {
    super(cfg);
    weriftPcs.push(this);
  }
}
function weriftNothingOutstanding(): boolean {
  const pc = weriftPcs.at(-1) as { sctpTransport?: { sctp?: { sackMisOrdered?: Set<number> } } } | undefined;
  const sctp = pc?.sctpTransport?.sctp;
  return sctp?.sackMisOrdered instanceof Set && sctp.sackMisOrdered.size === 0;
}
/** libdatachannel's warnings and errors of the current handshake, shown when it fails. */
const ndcLog: string[] = [];
let env: Env;
before(async () => {
  ndcLogger("Warning", (level, message) => void ndcLog.push(`${level} ${message}`));
  // As the README tells werift users to: without it werift holds back the last reliable packets
  // of a burst in about 1 run of 7 (src/client/werift-fix.ts).
  assert.equal(patchWeriftReassembly(WeriftPc), true, "werift's reassembly fix applies");
  env = await setup();
});
after(async () => {
  await env?.close();
  ndcCleanup(); // also releases the logger, which would keep the process alive
});

/** What the bot received, as strings (the page sends strings). */
function recorder() {
  const got: { data: string; reliable: boolean }[] = [];
  return {
    got,
    onPacket: (data: string | ArrayBuffer, reliable: boolean) => got.push({ data: String(data), reliable }),
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Both sides open; otherwise the error says what the page saw, why the bot ended, what libdatachannel logged. */
async function bothOpen(page: Page, bot: EchoBot): Promise<void> {
  try {
    await Promise.all([waitForEvent(page, "peer-open", 30_000), within(bot.open, 30_000, "bot open")]);
  } catch (e) {
    const seen = (await events(page).catch(() => [])).map((x) => `${x.type} ${JSON.stringify(x.detail)}`);
    const bots = await Promise.race([bot.closed, new Promise((r) => setTimeout(() => r("(still running)"), 100))]);
    const lib = ndcLog.length > 0 ? `\n  libdatachannel:\n    ${ndcLog.join("\n    ")}` : "";
    throw new Error(
      `${(e as Error).message}\n  bot: ${String(bots)}\n  page events:\n    ${seen.join("\n    ")}${lib}`,
    );
  }
}

/**
 * Page → bot → page: N reliable in order both ways, then unreliable ones marked unreliable, and
 * both sides reading each other's heartbeats (the control channel, made before the association
 * is up: with libdatachannel it once carried nothing either way in some runs; README).
 */
async function exchange(
  stack: string,
  page: Page,
  bot: EchoBot,
  got: { data: string; reliable: boolean }[],
): Promise<void> {
  const expected = Array.from({ length: N }, (_, i) => `r:${i}`);
  await sendMany(page, N, "r:", true);
  // werift's SCTP is slow: 1,000 echoes take 2–13 s here (node-datachannel's ~0.5 s); room for load.
  await waitForPackets(page, "r:", N, 60_000).catch(async (e: Error) => {
    const echoed = (await packets(page, "r:").catch(() => [])).length;
    const reached = got.filter((p) => p.data.startsWith("r:")).length;
    const sent = await page.evaluate(
      async () => (await document.querySelector("registry-peer")!.getStats())?.reliable?.messagesSent ?? null,
    );
    const why = `${e.message}\n  the bot received ${reached} of ${N}; the page got ${echoed} echoes back; the browser sent ${sent}`;
    if (stack === "werift" && sent === N && reached < N && weriftNothingOutstanding()) {
      throw new WeriftLostAckedData(`${why}; werift acknowledged everything it was sent`);
    }
    throw new Error(why);
  });
  assert.deepEqual(
    got.filter((p) => p.data.startsWith("r:")).map((p) => p.data),
    expected,
    "bot received in order",
  );
  assert.ok(
    got.every((p) => p.reliable),
    "reliable packets arrived on the reliable channel",
  );
  assert.deepEqual(
    (await packets(page, "r:")).map((p) => p.data),
    expected,
    "page received the echoes in order",
  );
  assert.equal(bot.client.getState().phase, "open");
  // The bot published its candidates, as "candidate:…" (libdatachannel gathers "a=candidate:…").
  const published = [...(bot.client.getState().rtc?.localCandidates ?? [])].map((k) => (JSON.parse(k) as string[])[0]!);
  assert.ok(published.length > 0, "the bot published its candidates");
  assert.ok(
    published.every((c) => c.startsWith("candidate:")),
    "published in the candidate: form",
  );

  await sendMany(page, 50, "u:", false);
  await waitForPackets(page, "u:", 1, 10_000);
  assert.ok(
    got.some((p) => p.data.startsWith("u:") && !p.reliable),
    "bot got unreliable packets as unreliable",
  );
  assert.ok(
    (await packets(page, "u:")).every((p) => !p.reliable),
    "echoes came back unreliable",
  );
  // Each side understood the other's heartbeats (the drop-in is property-mangled, the bot is
  // not): the unreliable loss figure comes from them, once a side has sent 20 unreliable packets
  // and heard a beat after that. The page keeps some unreliable traffic going (the bot echoes it).
  const lossKnown = async () =>
    (await bot.client.getStats())?.unreliableLoss != null &&
    (await page.evaluate(async () => (await document.querySelector("registry-peer")!.getStats())?.unreliableLoss)) !=
      null;
  for (let i = 0; i < 30 && !(await lossKnown()); i++) {
    await sendMany(page, 10, "w:", false);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(await lossKnown(), "both sides read each other's heartbeats");
}

describe("Node peer ↔ <registry-peer> in Chromium", () => {
  it("the README's import paths resolve from the built package (registry-peer/client, /node)", async () => {
    // Through package.json "exports" (self-reference), as an app that installed the package does.
    const node = (await import("registry-peer/node" as string)) as typeof import("../../src/client/node.ts");
    const client = (await import("registry-peer/client" as string)) as typeof import("../../src/client/index.ts");
    assert.equal(typeof node.nodeDefaults, "function");
    assert.equal(typeof client.RegistryClient, "function");
    class FakePc {
      constructor(readonly cfg: RTCConfiguration) {}
    }
    const d = node.nodeDefaults(FakePc, { iceServers: [{ urls: "stun:127.0.0.1:3478" }] });
    const cfg = d.rtcConfiguration;
    const pc = d.createPeerConnection(cfg) as unknown as FakePc;
    assert.ok(pc instanceof FakePc);
    assert.deepEqual(pc.cfg, cfg);
    assert.notEqual(pc.cfg, cfg, "the implementation gets its own copy of the configuration");
    assert.equal(d.randomBytes(16).length, 16);
  });

  const stacks: [string, PeerConnectionClass][] = [
    ["node-datachannel", NodeDataChannelPc],
    ["werift", WeriftSeen],
  ];
  /** Runs `run` again (new room, new page) only after werift lost acknowledged data; twice at most. */
  async function retryingWeriftLoss(stack: string, run: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (!(e instanceof WeriftLostAckedData) || attempt >= 3) throw e;
        console.warn(
          `\n*** ${stack}, attempt ${attempt}: werift acknowledged reliable data and never delivered it (see README): retrying with a new room ***\n  ${e.message.replaceAll("\n", "\n  ")}\n`,
        );
      }
    }
  }
  for (const [stack, PeerConnection] of stacks) {
    /** The bot hosts, the page opens its share link, both open (retries only for the race above). */
    async function botHostsPageJoins(
      attempt = 1,
    ): Promise<{ bot: EchoBot; page: Page; rec: ReturnType<typeof recorder> }> {
      ndcLog.length = 0;
      const rec = recorder();
      const bot = await startEchoBot({
        baseUrl: env.registry.url,
        link: `${env.web.url}/demo/plain.html`,
        role: "host",
        PeerConnection,
        onPacket: rec.onPacket,
      });
      try {
        const page = await player(env, `${stack}-host/page-guest`);
        await page.goto(bot.shareUrl);
        await bothOpen(page, bot);
        return { bot, page, rec };
      } catch (e) {
        bot.client.close();
        const race = stack === "node-datachannel" && ndcLog.some((l) => l.includes(LIBDATACHANNEL_DTLS_RACE));
        if (!race || attempt >= 3) throw e;
        console.warn(
          `\n*** ${stack} host, attempt ${attempt}: libdatachannel's DTLS race ("${LIBDATACHANNEL_DTLS_RACE}", see README): retrying with a new room ***\n`,
        );
        return botHostsPageJoins(attempt + 1);
      }
    }

    it(`${stack} bot hosts; the element joins through the bot's share link`, { timeout: 240_000 }, () =>
      retryingWeriftLoss(stack, async () => {
        const { bot, page, rec } = await botHostsPageJoins();
        try {
          assert.equal(await page.evaluate(() => document.querySelector("registry-peer")!.state.role), "guest");
          await exchange(stack, page, bot, rec.got);

          // The page leaves: the bot is told (its session ends with one close).
          await page.evaluate(() => document.querySelector("registry-peer")!.close("bye"));
          await within(bot.closed, 10_000, "bot told of the page leaving");
          assert.equal(bot.client.getState().phase, "closed");
          assert.deepEqual(
            (await events(page, "peer-error")).map((e) => e.detail),
            [],
            "page peer-error",
          );
        } finally {
          bot.client.close();
        }
      }),
    );

    it(`the element hosts; a ${stack} bot joins through the page's share link`, { timeout: 240_000 }, () =>
      retryingWeriftLoss(stack, async () => {
        ndcLog.length = 0;
        const page = await player(env, `page-host/${stack}-guest`);
        await page.goto(`${env.web.url}/demo/plain.html`);
        const { shareUrl } = (await waitForEvent(page, "room-created", 15_000)).detail as { shareUrl: string };
        const rec = recorder();
        const bot = await startEchoBot({
          baseUrl: env.registry.url,
          link: shareUrl,
          role: "guest",
          PeerConnection,
          onPacket: rec.onPacket,
        });
        try {
          await bothOpen(page, bot);
          await exchange(stack, page, bot, rec.got);

          // The bot leaves: the page is told. node-datachannel ends the DataChannel on the wire
          // (measured ~20 ms), so the page's bound for a closing peer holds (2 s, as between
          // browsers). werift's close() ends DTLS before SCTP: nothing reaches the page, which
          // learns it from the Registry or ICE (measured ~11 s), within the bound for a vanished
          // peer (25 s, as for a crashed tab).
          const t0 = Date.now();
          bot.client.close("bot done");
          await waitForEvent(page, "peer-close", stack === "werift" ? 25_000 : 2000, t0 - 5);
          assert.equal(await bot.closed, "bot done");
          assert.deepEqual(
            (await events(page, "peer-error")).map((e) => e.detail),
            [],
            "page peer-error",
          );
        } finally {
          bot.client.close();
        }
      }),
    );
  }
});
