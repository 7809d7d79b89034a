/**
 * Issue #10 through real NATs: two Chromium players on two home networks (namespaces,
 * iptables NAT), coturn on the simulated internet, the real drop-in page. See lab.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { packets, sendMany, waitForPackets } from "../e2e/helpers.ts";
import type { Lab } from "./lab.ts";
import { probeRelay, route } from "./page.ts";
import { openLab, skipReason, startPair, waitClosed, waitOpen } from "./scenario.ts";

const skip = await skipReason();
let lab: Lab;

before(async () => {
  if (skip) return;
  lab = await openLab({
    profiles: {
      stun: (a) => ({ STUN_URLS: a.stunUrl }),
      turn: (a) => ({ STUN_URLS: a.stunUrl, TURN_URLS: a.turnUrl, TURN_SECRET: a.turnSecret }),
    },
  });
});
after(async () => {
  await lab?.close();
});

/** 1,000 numbered reliable packets each way arrive complete and in order. */
async function thousandInOrder(
  host: Parameters<typeof packets>[0],
  guest: Parameters<typeof packets>[0],
  prefix: string,
): Promise<void> {
  await Promise.all([sendMany(host, 1000, prefix, true), sendMany(guest, 1000, prefix, true)]);
  await Promise.all([waitForPackets(host, prefix, 1000, 20_000), waitForPackets(guest, prefix, 1000, 20_000)]);
  const want = Array.from({ length: 1000 }, (_, i) => `${prefix}${i}`);
  for (const page of [host, guest])
    assert.deepEqual(
      (await packets(page, prefix)).map((p) => p.data),
      want,
    );
}

describe("NAT lab: two home networks (issue #10)", { skip: skip ?? false, timeout: 180_000 }, () => {
  it("(a) ordinary NATs with STUN: open via server-reflexive candidates; (f) 1,000 reliable packets each way in order", async () => {
    lab.setNat("eim");
    const stun = JSON.stringify([{ urls: lab.stunUrl }]);
    const pair = await startPair(lab, "stun", { attrs: { "ice-servers": stun } });
    const open = await waitOpen(pair, 20_000);
    for (const [page, peerWan] of [
      [pair.host, "198.18.0.12"],
      [pair.guest, "198.18.0.11"],
    ] as const) {
      const r = await route(page);
      assert.ok(r, "a selected candidate pair");
      assert.equal(r.relayed, false, `direct, not relayed: ${JSON.stringify(r)}`);
      assert.equal(r.protocol, "udp");
      // The far end is the other home router's public address: a NAT was traversed.
      assert.equal(r.remoteAddress, peerWan, JSON.stringify(r));
      assert.ok(["srflx", "prflx"].includes(r.remote), JSON.stringify(r));
    }
    console.log(`  (a) open via srflx ${open.ms} ms after the guest opened the link`);
    await thousandInOrder(pair.host, pair.guest, "r:");
    await lab.resetPlayers();
  });

  it("(b) symmetric NATs with STUN only: no connection, both sides end", async () => {
    lab.setNat("symmetric");
    const stun = JSON.stringify([{ urls: lab.stunUrl }]);
    const pair = await startPair(lab, "stun", { attrs: { "ice-servers": stun } });
    const ended = await waitClosed(pair, 45_000);
    for (const ev of [ended.host, ended.guest])
      assert.equal(ev.filter((e) => e.type === "peer-open").length, 0, "never open");
    await lab.resetPlayers();
  });

  it("(c) symmetric NATs with TURN: open via relay, the route is relayed; (f) 1,000 reliable packets each way in order", async () => {
    lab.setNat("symmetric");
    const turn = lab.mintTurn(600);
    const ice = JSON.stringify([
      { urls: lab.stunUrl },
      { urls: lab.turnUrl, username: turn.username, credential: turn.credential },
    ]);
    const pair = await startPair(lab, "turn", { attrs: { "ice-servers": ice } });
    const open = await waitOpen(pair, 20_000);
    for (const page of [pair.host, pair.guest]) {
      const r = await route(page);
      assert.ok(r, "a selected candidate pair");
      assert.equal(r.relayed, true, `relayed: ${JSON.stringify(r)}`);
    }
    console.log(`  (c) open via relay ${open.ms} ms after the guest opened the link`);
    await thousandInOrder(pair.host, pair.guest, "r:");
    await lab.resetPlayers();
  });

  it("(d) relay only: a relay pair is selected even where a direct one would work", async () => {
    lab.setNat("eim");
    const turn = lab.mintTurn(600);
    const ice = JSON.stringify([
      { urls: lab.stunUrl },
      { urls: lab.turnUrl, username: turn.username, credential: turn.credential },
    ]);
    const pair = await startPair(lab, "turn", { attrs: { "ice-servers": ice }, forceRelay: true });
    await waitOpen(pair, 20_000);
    for (const page of [pair.host, pair.guest]) {
      const r = await route(page);
      assert.ok(r, "a selected candidate pair");
      assert.equal(r.local, "relay", `local relay: ${JSON.stringify(r)}`);
    }
    await lab.resetPlayers();
  });

  it("(e) TURN credentials expire as minted: coturn relays before, refuses after", async () => {
    const page = await lab.player(0, "probe");
    // Any page of the lab origin will do (a 404 too): it only needs an RTCPeerConnection.
    await page.goto(`${lab.origin("turn")}/netlab-probe`);
    const turn = lab.mintTurn(2);
    const servers = [{ urls: lab.turnUrl, username: turn.username, credential: turn.credential }];
    const fresh = await probeRelay(page, servers);
    assert.ok(fresh.types.includes("relay"), `a relay candidate while valid: ${JSON.stringify(fresh)}`);
    await new Promise((r) => setTimeout(r, Math.max(0, turn.expiresAt * 1000 - Date.now()) + 1500));
    const stale = await probeRelay(page, servers);
    assert.deepEqual(stale.types, [], `no relay candidate after expiry: ${JSON.stringify(stale)}`);
    assert.ok(
      stale.errors.some((e) => e.code === 401),
      `coturn says 401: ${JSON.stringify(stale.errors)}`,
    );
    await lab.resetPlayers();
  });
});
