/**
 * Two browsers through the Workers Registry: two Chromium contexts (real RTCPeerConnections)
 * load the drop-in page (demo/plain.html: only <script src="dist/registry-peer.js"> and the
 * element) whose base-url is server/worker/worker.ts running under workerd (Miniflare, wrangler.jsonc's
 * bindings, SQLite-backed Durable Objects, default §10 limits). The host creates a room,
 * the guest opens the share link, both DataChannels open and carry packets both ways, and a
 * close reaches the other side. The Worker's request log then gives what one handshake
 * cost in requests (README.md, "What one handshake costs", quotes it).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startWorkerd, type WorkerdServer } from "../server/workerd-harness.ts";
import { events, packets, player, sendMany, setup, waitForEvent, waitForPackets, type Env } from "./helpers.ts";

let env: Env;
let workerd: WorkerdServer;

before(async () => {
  // The shipped defaults, except the public STUN servers: tests never send traffic off this machine.
  env = await setup({}, async () => {
    workerd = await startWorkerd({ STUN_URLS: "" });
    return { url: workerd.url, port: Number(new URL(workerd.url).port), close: () => workerd.close() };
  });
});

after(async () => {
  await env?.close();
});

/** The Worker's §9 request lines ({method, route, status, …}), in order. */
function requestLog(): Array<{ method: string; route: string; status: number }> {
  return workerd.logs
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l) as { method?: string; route?: string; status?: number };
      } catch {
        return {};
      }
    })
    .filter((r): r is { method: string; route: string; status: number } => typeof r.method === "string" && typeof r.route === "string");
}

describe("two browsers through the workerd Registry (Durable Objects)", () => {
  it("host and guest connect, exchange packets both ways, and see each other close", { timeout: 90_000 }, async () => {
    const host = await player(env, "workerd-host");
    await host.goto(`${env.web.url}/demo/plain.html`);
    const created = await waitForEvent(host, "room-created", 15_000);
    const { shareUrl } = created.detail as { shareUrl: string };

    const guest = await player(env, "workerd-guest");
    await guest.goto(shareUrl);
    await Promise.all([waitForEvent(host, "peer-open", 30_000), waitForEvent(guest, "peer-open", 30_000)]);
    assert.equal(await guest.evaluate(() => document.querySelector("registry-peer")!.state.role), "guest");
    const handshake = requestLog();

    await Promise.all([sendMany(host, 100, "r:", true), sendMany(guest, 100, "r:", true)]);
    await Promise.all([waitForPackets(host, "r:", 100, 10_000), waitForPackets(guest, "r:", 100, 10_000)]);
    for (const page of [host, guest]) {
      assert.deepEqual((await packets(page, "r:")).map((p) => p.data), Array.from({ length: 100 }, (_, i) => `r:${i}`));
    }

    const t0 = Date.now();
    await guest.evaluate(() => document.querySelector("registry-peer")!.close("bye"));
    await waitForEvent(host, "peer-close", 5000, t0 - 5);
    assert.equal((await events(host, "peer-error")).length, 0);
    assert.equal((await events(guest, "peer-error")).length, 0);

    // The signaling really went through the Worker and its room object.
    const routes = handshake.map((r) => `${r.method} ${r.route}`);
    for (const must of ["POST /rooms", "POST /rooms/:code/join", "POST /rooms/:code/offer", "POST /rooms/:code/answer"]) {
      assert.ok(routes.includes(must), `${must} reached the Worker: ${routes.join(", ")}`);
    }
    assert.ok(handshake.every((r) => r.status < 500), `no 5xx: ${JSON.stringify(handshake)}`);
    const counts = new Map<string, number>();
    for (const r of routes) counts.set(r, (counts.get(r) ?? 0) + 1);
    console.log(`[workerd e2e] handshake: ${handshake.length} Registry requests (preflights included): ${JSON.stringify(Object.fromEntries(counts))}`);
  });
});
