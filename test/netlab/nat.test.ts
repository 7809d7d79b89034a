/**
 * Issue #10 through real NATs: two Chromium players on two home networks (namespaces,
 * iptables NAT), coturn on the simulated internet, the real drop-in page. See lab.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { packets, sendMany, waitForEvent, waitForPackets, type Recorded } from "../e2e/helpers.ts";
import { CONNECT_FAILURE_MESSAGES } from "../../src/client/ice-config.ts";
import type { Lab } from "./lab.ts";
import { API_VERSION, HEADERS } from "../../src/protocol/index.ts";
import { pageFetch, probeRelay, route, succeededPairs, type Route } from "./page.ts";
import { openLab, skipReason, startPair, waitClosed, waitOpen, type Pair } from "./scenario.ts";

/** What the element reports as `route` (peer-open's detail and the property). */
interface ElementRoute {
  localType: string;
  remoteType: string;
  protocol: string;
  relayed: boolean;
}

const skip = await skipReason();
const SHORT_TTL_SEC = 3;
/**
 * connection_failed comes `connect-timeout` (10 s default) after both descriptions are set;
 * 5 s on top for a loaded machine (two Chromiums on 2 shared cores).
 */
const CONNECT_BOUND_MS = 10_000 + 5_000;
let lab: Lab;

before(async () => {
  if (skip) return;
  lab = await openLab({
    profiles: {
      stun: (a) => ({ STUN_URLS: a.stunUrl }),
      turn: (a) => ({ STUN_URLS: a.stunUrl, TURN_URLS: a.turnUrl, TURN_SECRET: a.turnSecret }),
      short: (a) => ({
        STUN_URLS: a.stunUrl,
        TURN_URLS: a.turnUrl,
        TURN_SECRET: a.turnSecret,
        TURN_TTL_SEC: String(SHORT_TTL_SEC),
      }),
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

/**
 * The element's route (peer-open's detail, and the property) is a pair Chromium really
 * checked, relayed as expected; the pair selected now is relayed as expected too. (ICE may
 * switch the selected pair after open, e.g. relay ↔ prflx to prflx ↔ relay, so the route read
 * at open is compared with the pairs that succeeded, not with a later selection.)
 */
async function routeAgrees(page: Page, opened: Recorded, want: { relayed: boolean }): Promise<Route> {
  const r = await route(page);
  assert.ok(r, "a selected candidate pair in getStats()");
  assert.equal(r.relayed, want.relayed, `relayed: ${JSON.stringify(r)}`);
  const told = (opened.detail as { route: ElementRoute | null }).route;
  assert.ok(told, "peer-open carries a route");
  assert.equal(told.relayed, want.relayed, `peer-open's route: ${JSON.stringify(told)}`);
  assert.equal(told.relayed, told.localType === "relay" || told.remoteType === "relay", JSON.stringify(told));
  const pairs = await succeededPairs(page);
  assert.ok(
    pairs.some((p) => p.local === told.localType && p.remote === told.remoteType && p.protocol === told.protocol),
    `peer-open's route ${JSON.stringify(told)} is a pair that succeeded: ${JSON.stringify(pairs)}`,
  );
  const prop = await page.evaluate(
    () => (document.querySelector("registry-peer") as unknown as { route: unknown }).route,
  );
  assert.deepEqual(prop, told, "the route property");
  return r;
}

/**
 * Both players get exactly one peer-error connection_failed with `message`, then peer-close
 * connection_failed, never open; each within `boundMs` of its side having both descriptions.
 */
async function bothFail(pair: Pair, message: string, boundMs: number): Promise<void> {
  const ended = await waitClosed(pair, boundMs + 20_000);
  for (const [side, ev] of [
    ["host", ended.host],
    ["guest", ended.guest],
  ] as const) {
    const errors = ev.filter((e) => e.type === "peer-error");
    assert.equal(errors.length, 1, `${side}: one peer-error: ${JSON.stringify(errors)}`);
    const err = errors[0]!.detail as { code: string; message: string };
    assert.equal(err.code, "connection_failed", `${side}: ${JSON.stringify(err)}`);
    // The side that gave up says it as is; the other may put "The other player could not connect." first.
    assert.ok(err.message.includes(message), `${side}: ${err.message}`);
    assert.equal(ev.filter((e) => e.type === "peer-open").length, 0, `${side}: never open`);
    const close = ev.find((e) => e.type === "peer-close");
    assert.deepEqual(close?.detail, { reason: "connection_failed" }, `${side}: peer-close`);
    // Both descriptions are set on this side once it posted its answer (guest) or got one (host).
    const phases = ev
      .filter((e) => e.type === "phase-change")
      .map((e) => ({ ...(e.detail as { phase: string }), at: e.at }));
    const described = phases.find((p) => p.phase === (side === "host" ? "draining_ice" : "posting_answer"));
    assert.ok(
      described,
      `${side}: reached ${side === "host" ? "draining_ice" : "posting_answer"}: ${phases.map((p) => p.phase).join(" > ")}`,
    );
    const took = errors[0]!.at - described.at;
    assert.ok(took <= boundMs, `${side}: connection_failed ${took} ms after both descriptions (bound ${boundMs} ms)`);
    console.log(`  ${side}: connection_failed ${took} ms after both descriptions`);
  }
}

describe("NAT lab: two home networks (issue #10)", { skip: skip ?? false, timeout: 240_000 }, () => {
  it("(a) ordinary NATs, Registry with STUN, page with no ice-servers: open via server-reflexive candidates, route told; (f) 1,000 reliable packets each way in order", async () => {
    lab.setNat("eim");
    const pair = await startPair(lab, "stun");
    const open = await waitOpen(pair, 20_000);
    for (const [page, opened, peerWan] of [
      [pair.host, open.host, "198.18.0.12"],
      [pair.guest, open.guest, "198.18.0.11"],
    ] as const) {
      const r = await routeAgrees(page, opened, { relayed: false });
      assert.equal(r.protocol, "udp");
      // The far end is the other home router's public address: a NAT was traversed.
      assert.equal(r.remoteAddress, peerWan, JSON.stringify(r));
      assert.ok(["srflx", "prflx"].includes(r.remote), JSON.stringify(r));
    }
    console.log(`  (a) open via srflx ${open.ms} ms after the guest opened the link`);
    await thousandInOrder(pair.host, pair.guest, "r:");
    await lab.resetPlayers();
  });

  it("(b) symmetric NATs, STUN only: connection_failed on both sides within the bound, saying a relay is needed", async () => {
    lab.setNat("symmetric");
    const pair = await startPair(lab, "stun");
    await bothFail(pair, CONNECT_FAILURE_MESSAGES.no_relay, CONNECT_BOUND_MS);
    await lab.resetPlayers();
  });

  it("(c) symmetric NATs, Registry with TURN: open via relay, the route told as relayed; (f) 1,000 reliable packets each way in order", async () => {
    lab.setNat("symmetric");
    const pair = await startPair(lab, "turn");
    const open = await waitOpen(pair, 20_000);
    await routeAgrees(pair.host, open.host, { relayed: true });
    await routeAgrees(pair.guest, open.guest, { relayed: true });
    console.log(`  (c) open via relay ${open.ms} ms after the guest opened the link`);
    await thousandInOrder(pair.host, pair.guest, "r:");
    await lab.resetPlayers();
  });

  it("(d) relay-only: a relay pair is selected even where a direct one would work", async () => {
    lab.setNat("eim");
    const pair = await startPair(lab, "turn", { attrs: { "relay-only": "" } });
    const open = await waitOpen(pair, 20_000);
    for (const [page, opened] of [
      [pair.host, open.host],
      [pair.guest, open.guest],
    ] as const) {
      const r = await routeAgrees(page, opened, { relayed: true });
      assert.equal(r.local, "relay", `local relay: ${JSON.stringify(r)}`);
    }
    await lab.resetPlayers();
  });

  it("(d) relay-only with no TURN offered fails at once with a clear error", async () => {
    const page = await lab.player(0, "host", { attrs: { "relay-only": "" } });
    const t0 = Date.now();
    await page.goto(`${lab.origin("stun")}/demo/plain.html`);
    const err = await waitForEvent(page, "peer-error", 10_000);
    assert.deepEqual(
      err.detail && {
        code: (err.detail as { code: string }).code,
        message: (err.detail as { message: string }).message,
      },
      {
        code: "connection_failed",
        message: CONNECT_FAILURE_MESSAGES.relay_only_without_relay,
      },
    );
    assert.ok(err.at - t0 < 5000, `at once: ${err.at - t0} ms after the page started loading`);
    await lab.resetPlayers();
  });

  it("(e) relay-only with expired TURN credentials: connection_failed on both sides, saying the relay failed", async () => {
    lab.setNat("eim");
    const turn = lab.mintTurn(1);
    await new Promise((r) => setTimeout(r, Math.max(0, turn.expiresAt * 1000 - Date.now()) + 1500));
    // The page's own ice-servers win, so the client cannot swap in fresh ones from the Registry.
    const ice = JSON.stringify([{ urls: lab.turnUrl, username: turn.username, credential: turn.credential }]);
    const pair = await startPair(lab, "turn", { attrs: { "ice-servers": ice, "relay-only": "" } });
    await bothFail(pair, CONNECT_FAILURE_MESSAGES.relay_failed, CONNECT_BOUND_MS);
    await lab.resetPlayers();
  });

  it("(e) coturn takes TURN REST credentials until they expire, then refuses them", async () => {
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

  it(`(e) the Registry's TURN credentials expire as configured (TURN_TTL_SEC=${SHORT_TTL_SEC}); none without a valid token`, async () => {
    const page = await lab.player(0, "probe");
    await page.goto(`${lab.origin("short")}/netlab-probe`);
    const registry = lab.registryUrl("short");
    const v = { [HEADERS.version]: String(API_VERSION) };
    const t0 = Date.now();
    const created = await pageFetch(page, `${registry}/rooms`, {
      method: "POST",
      headers: v,
      body: { hostUserName: "Probe" },
    });
    assert.equal(created.status, 201, JSON.stringify(created));
    const room = created.body as { code: string; ownerToken: string; iceServers: RTCIceServer[]; iceExpiresAt: number };
    const expiresIn = room.iceExpiresAt - t0;
    assert.ok(
      expiresIn > (SHORT_TTL_SEC - 1) * 1000 && expiresIn <= (SHORT_TTL_SEC + 1) * 1000,
      `iceExpiresAt ${expiresIn} ms ahead`,
    );
    const turn = room.iceServers.filter((s) => [s.urls].flat().some((u) => u.startsWith("turn:")));
    assert.equal(turn.length, 1, JSON.stringify(room.iceServers));
    assert.ok([turn[0]!.urls].flat().includes(lab.turnUrl), JSON.stringify(turn));
    const fresh = await probeRelay(page, turn);
    assert.ok(fresh.types.includes("relay"), `coturn relays with the Registry's credentials: ${JSON.stringify(fresh)}`);

    // No credentials for a request without a token, or with a wrong one.
    const url = `${registry}/rooms/${room.code}/ice-servers`;
    for (const headers of [v, { ...v, [HEADERS.token]: "x".repeat(43) }]) {
      const denied = await pageFetch(page, url, { method: "POST", headers, body: {} });
      assert.ok(denied.status === 401 || denied.status === 403, JSON.stringify(denied));
      assert.ok(
        !JSON.stringify(denied.body).includes("iceServers") &&
          (denied.body as { error?: { code?: string } }).error?.code,
        JSON.stringify(denied),
      );
    }

    await new Promise((r) => setTimeout(r, Math.max(0, room.iceExpiresAt - Date.now()) + 1500));
    const stale = await probeRelay(page, turn);
    assert.deepEqual(stale.types, [], `no relay candidate after expiry: ${JSON.stringify(stale)}`);
    assert.ok(
      stale.errors.some((e) => e.code === 401),
      `coturn says 401: ${JSON.stringify(stale.errors)}`,
    );

    // The token holder gets fresh ones, and coturn takes them.
    const renewed = await pageFetch(page, url, {
      method: "POST",
      headers: { ...v, [HEADERS.token]: room.ownerToken },
      body: {},
    });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.status));
    const again = (renewed.body as { iceServers: RTCIceServer[] }).iceServers.filter((s) =>
      [s.urls].flat().some((u) => u.startsWith("turn:")),
    );
    assert.ok((await probeRelay(page, again)).types.includes("relay"), "fresh credentials relay");
    await lab.resetPlayers();
  });
});
