/**
 * Two players in two browser contexts on the real demo page (index.html) and a real Node
 * Registry: the host creates a room through the element's UI, the guest opens the share link and
 * joins through the form, then packets flow both ways and each side sees the other leave.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { events, packets, player, sendMany, setup, waitForEvent, waitForPackets, type Env } from "./helpers.ts";

/**
 * How fast the host must see a guest whose page was closed. The element closes its session on
 * `pagehide` (the client posts /close and closes the DataChannel); when a page dies without
 * running it, the DataChannel/ICE state reports it and the client's disconnect grace (5 s) applies.
 * Measured here: well under 1 s. Bound: 10 s.
 */
const GUEST_GONE_BOUND_MS = 10_000;

/**
 * A guest whose renderer CRASHES runs no pagehide and sends no DTLS/SCTP goodbye. Its heartbeats
 * on the control channel stop: the host says `reconnecting` (peer_unresponsive) within
 * GUEST_CRASHED_NOTICE_MS, restarts ICE (never answered) and, since a player whose lid was closed
 * for half a minute must still get back in, closes only when the recovery window (45 s) ran out,
 * with reason `peer_unresponsive` (README, Recovery). Bound: 5 s to notice, 55 s to close.
 */
const GUEST_CRASHED_NOTICE_MS = 5000;
const GUEST_CRASHED_BOUND_MS = 55_000;

let env: Env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

/** Host creates a room in the demo's UI; the guest opens the share link and joins with the form. */
async function pair(hostName: string, guestName: string): Promise<{ host: Page; guest: Page; shareUrl: string }> {
  const host = await player(env, "host");
  await host.goto(`${env.web.url}/`);
  await host.locator("registry-peer input[name=name]").fill(hostName);
  await host.locator("registry-peer button", { hasText: "Create room" }).click();
  const share = host.locator("registry-peer input[name=share]");
  await share.waitFor({ timeout: 10_000 });
  const shareUrl = await share.inputValue();
  const created = await waitForEvent(host, "room-created", 5000);
  const d = created.detail as { code: string; joinCode: string; shareUrl: string };
  assert.equal(d.shareUrl, shareUrl, "the UI shows the share link of room-created");
  // The codes travel in the fragment only: nothing secret in the path or query.
  const u = new URL(shareUrl);
  assert.equal(u.search, "");
  assert.ok(!u.pathname.includes(d.joinCode) && !u.pathname.includes(d.code));
  assert.match(u.hash, new RegExp(`room=${d.code}&join=${d.joinCode.slice(0, 4)}-${d.joinCode.slice(4)}`));
  // The UI shows the join code as XXXX-XXXX.
  assert.equal(
    await host.locator("registry-peer [part~=join-code]").innerText(),
    `${d.joinCode.slice(0, 4)}-${d.joinCode.slice(4)}`,
  );

  const guest = await player(env, "guest");
  await guest.goto(shareUrl);
  // The form took both codes from the URL fragment.
  assert.equal(await guest.locator("registry-peer input[name=code]").inputValue(), d.code);
  assert.equal((await guest.locator("registry-peer input[name=join]").inputValue()).replace("-", ""), d.joinCode);
  await guest.locator("registry-peer input[name=name]").fill(guestName);
  await guest.locator("registry-peer button", { hasText: "Join room" }).click();
  await Promise.all([waitForEvent(host, "peer-open", 20_000), waitForEvent(guest, "peer-open", 20_000)]);
  return { host, guest, shareUrl };
}

describe("demo page, two browser contexts, real Registry", () => {
  it("pairs through the UI and the share link; 1,000 reliable packets each way in order; an unreliable burst; host close → guest peer-close < 2 s", {
    timeout: 90_000,
  }, async () => {
    const { host, guest } = await pair("Alice", "Bob");
    assert.match(await host.locator("registry-peer [part~=status]").innerText(), /Connected to Bob/);
    assert.match(await guest.locator("registry-peer [part~=status]").innerText(), /Connected to Alice/);

    // 1,000 packets each way at the same time on the reliable channel.
    const N = 1000;
    await Promise.all([sendMany(host, N, "r:", true), sendMany(guest, N, "r:", true)]);
    await Promise.all([waitForPackets(guest, "r:", N, 20_000), waitForPackets(host, "r:", N, 20_000)]);
    for (const page of [host, guest]) {
      const got = await packets(page, "r:");
      assert.equal(got.length, N, "every reliable packet arrives exactly once");
      assert.deepEqual(
        got.map((p) => p.data),
        Array.from({ length: N }, (_, i) => `r:${i}`),
        "in order",
      );
      assert.ok(got.every((p) => p.reliable === true));
    }

    // A burst on the unreliable channel: no retransmission, so only "most of it, no duplicates".
    const B = 300;
    await Promise.all([sendMany(host, B, "u:", false), sendMany(guest, B, "u:", false)]);
    await new Promise((r) => setTimeout(r, 1000));
    for (const page of [host, guest]) {
      const got = await packets(page, "u:");
      const ids = got.map((p) => Number(p.data.slice(2)));
      assert.ok(got.length >= B / 2, `most of the unreliable burst arrives on loopback (${got.length}/${B})`);
      assert.ok(got.length <= B && new Set(ids).size === ids.length, "no duplicates");
      assert.ok(ids.every((i) => Number.isInteger(i) && i >= 0 && i < B));
      assert.ok(
        got.every((p) => p.reliable === false),
        "they came on the unreliable channel",
      );
    }

    // The demo's own traffic: positions on the unreliable channel; the RTT from the element's stats.
    await guest.waitForFunction(() => /ms$/.test(document.getElementById("stat-rtt")!.textContent ?? ""), null, {
      timeout: 5000,
    });
    assert.notEqual(await guest.locator("#stat-recv").innerText(), "0 B");

    // Host leaves: the guest hears it within 2 s.
    const t0 = Date.now();
    await host.evaluate(() => document.querySelector("registry-peer")!.close("host left"));
    const closed = await waitForEvent(guest, "peer-close", 2000, t0 - 5);
    assert.ok(closed.at - t0 < 2000, `guest peer-close after ${closed.at - t0} ms`);
    assert.equal((await events(host, "peer-close")).length, 1, "the host gets exactly one peer-close too");
    assert.deepEqual(
      (await events(guest, "peer-error")).map((e) => e.detail),
      [],
      "a clean close is not an error",
    );
    await host.close();
    await guest.close();
  });

  it(`guest's page closed → host peer-close within ${GUEST_GONE_BOUND_MS / 1000} s`, { timeout: 60_000 }, async () => {
    const { host, guest } = await pair("Carol", "Dave");
    const t0 = Date.now();
    await guest.close();
    const closed = await waitForEvent(host, "peer-close", GUEST_GONE_BOUND_MS, t0 - 5);
    console.log(`# host saw the guest leave after ${closed.at - t0} ms`);
    assert.ok(closed.at - t0 < GUEST_GONE_BOUND_MS);
    // The host's UI says so and offers a new room.
    await host.locator("registry-peer button", { hasText: "New room" }).waitFor({ timeout: 2000 });
    await host.close();
  });

  it(`guest's renderer crashed (no pagehide) → host reconnecting within ${GUEST_CRASHED_NOTICE_MS / 1000} s, peer-close within ${GUEST_CRASHED_BOUND_MS / 1000} s`, {
    timeout: 90_000,
  }, async () => {
    const { host, guest } = await pair("Erin", "Frank");
    const cdp = await guest.context().newCDPSession(guest);
    // The clock starts when the renderer is gone (the driver's crash event), not at the request.
    const gone = new Promise<number>((r) => guest.once("crash", () => r(Date.now())));
    const t0 = Date.now();
    cdp.send("Page.crash").catch(() => {}); // never answers: the page is gone
    const goneAt = await gone;
    const noticed = await waitForEvent(host, "reconnecting", GUEST_CRASHED_NOTICE_MS + 10_000, t0 - 5);
    const closed = await waitForEvent(host, "peer-close", GUEST_CRASHED_BOUND_MS, t0 - 5);
    console.log(
      `# guest's renderer gone ${goneAt - t0} ms after the request; host noticed it ${noticed.at - goneAt} ms later, closed after ${closed.at - goneAt} ms (${JSON.stringify(closed.detail)})`,
    );
    assert.ok(noticed.at - goneAt <= GUEST_CRASHED_NOTICE_MS, `noticed after ${noticed.at - goneAt} ms`);
    assert.deepEqual(closed.detail, { reason: "peer_unresponsive" });
    assert.ok(closed.at - goneAt < GUEST_CRASHED_BOUND_MS);
    await host.close();
  });
});
