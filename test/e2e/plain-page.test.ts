/**
 * The drop-in promise: demo/plain.html has ONLY <script type="module" src="../dist/registry-peer.js">
 * and the element in markup (no bundler, no import map, no script of its own). With auto-connect,
 * the first context hosts a room, the second opens the share link and joins: both connect.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { events, packets, player, sendMany, setup, waitForEvent, waitForPackets, type Env } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

describe("plain HTML page with only the drop-in script", () => {
  it("has no script but the drop-in and no import map", async () => {
    const html = await readFile(new URL("../../demo/plain.html", import.meta.url), "utf8");
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(scripts, ['<script type="module" src="../dist/registry-peer.js">']);
    assert.ok(!/importmap/.test(html));
    assert.match(html, /<registry-peer [^>]*auto-connect/);
  });

  for (const [file, what] of [
    ["plain.html", "ES module drop-in"],
    ["classic.html", "classic-script (IIFE) build"],
  ] as const) {
    it(`${what}: connects two contexts through the share link and exchanges packets`, { timeout: 60_000 }, async () => {
      const host = await player(env, "plain-host");
      await host.goto(`${env.web.url}/demo/${file}`);
      const created = await waitForEvent(host, "room-created", 10_000);
      const { shareUrl } = created.detail as { shareUrl: string };
      assert.equal(await host.locator("registry-peer input[name=share]").inputValue(), shareUrl);

      const guest = await player(env, "plain-guest");
      await guest.goto(shareUrl);
      await Promise.all([waitForEvent(host, "peer-open", 20_000), waitForEvent(guest, "peer-open", 20_000)]);
      // No role attribute: the share link made this one the guest.
      assert.equal(await guest.evaluate(() => document.querySelector("registry-peer")!.state.role), "guest");

      await Promise.all([sendMany(host, 200, "r:", true), sendMany(guest, 200, "r:", true)]);
      await Promise.all([waitForPackets(host, "r:", 200, 10_000), waitForPackets(guest, "r:", 200, 10_000)]);
      for (const page of [host, guest]) {
        assert.deepEqual(
          (await packets(page, "r:")).map((p) => p.data),
          Array.from({ length: 200 }, (_, i) => `r:${i}`),
        );
      }
      await sendMany(host, 50, "u:", false);
      await waitForPackets(guest, "u:", 1, 5000);
      assert.ok((await packets(guest, "u:")).every((p) => !p.reliable));

      const t0 = Date.now();
      await guest.evaluate(() => document.querySelector("registry-peer")!.close("bye"));
      await waitForEvent(host, "peer-close", 2000, t0 - 5);
      assert.deepEqual(
        (await events(host, "peer-error")).map((e) => e.detail),
        [],
        "host peer-error",
      );
      assert.deepEqual(
        (await events(guest, "peer-error")).map((e) => e.detail),
        [],
        "guest peer-error",
      );
    });
  }

  it("classic.html loads only the IIFE and gets the RegistryPeer global", async () => {
    const html = await readFile(new URL("../../demo/classic.html", import.meta.url), "utf8");
    assert.deepEqual(
      [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]),
      ['<script src="../dist/registry-peer.iife.js">'],
    );
    const page = await player(env, "iife");
    await page.goto(`${env.web.url}/demo/classic.html`);
    const ok = await page.evaluate(() => {
      const g = (globalThis as unknown as { RegistryPeer?: { RegistryPeer?: unknown } }).RegistryPeer;
      return typeof g?.RegistryPeer === "function" && customElements.get("registry-peer") === g.RegistryPeer;
    });
    assert.equal(ok, true);
  });
});
