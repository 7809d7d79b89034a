/**
 * Connectivity (issue #10): the Registry's ICE servers unless the page sets its own, relay-only,
 * the connect bound (one ICE restart, then exactly one connection_failed on both sides), fresh
 * credentials before an ICE restart, and the route on onOpen / getRoute().
 */
import { expect } from "@open-wc/testing";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import {
  ChannelMismatchError,
  ClosedError,
  ConnectionFailedError,
  errorFromResponse,
} from "../../src/client/errors.ts";
import { CONNECT_FAILURE_MESSAGES } from "../../src/client/ice-config.ts";
import { errorEnvelope, type IceGrant } from "../../src/protocol/index.ts";
import {
  FakeRegistry,
  MockFetch,
  harness,
  type Harness,
  type MockPeerConnection,
  type MockRtcOptions,
} from "./fixtures/index.ts";

const swallow = (p: Promise<unknown>) => p.catch((e: unknown) => e);
const T = CLIENT_DEFAULTS.connectTimeoutMs;
const NO_CHANNEL = "Connected to the other player, but no data channel opened: the two pages cannot talk.";
const STUN = { urls: ["stun:stun.example.test:3478"] };
const TURN = { urls: ["turn:turn.example.test:3478?transport=udp"], username: "100:abc", credential: "cred-SECRET" };
const TURN2 = { urls: ["turn:turn.example.test:3478?transport=udp"], username: "200:def", credential: "cred2-SECRET" };
const grant = (servers = [STUN, TURN], iceExpiresAt: number | null = 3_600_000): IceGrant => ({
  iceServers: servers,
  iceExpiresAt,
});

interface Setup {
  features?: string;
  page?: RTCConfiguration;
  grant?: IceGrant | null;
  options?: Record<string, unknown>;
  rtc?: MockRtcOptions;
}

function setup(s: Setup = {}) {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, s.features ?? "all");
  reg.iceGrant = s.grant === undefined ? grant() : s.grant;
  const h = harness({
    mf,
    options: { rtcConfiguration: s.page ?? {}, ...s.options },
    ...(s.rtc ? { rtc: s.rtc } : {}),
  });
  return { mf, reg, h };
}

function setAnswer(reg: FakeRegistry, sdp: string) {
  reg.answer = { type: "answer", sdp };
  reg.status = "paired";
  reg.version++;
  reg.wake();
}

/** Host: create, connect, the guest answers: both descriptions set (draining_ice). */
async function hostAnswered(s: Setup = {}) {
  const { mf, reg, h } = setup(s);
  await h.client.createRoom({ hostUserName: "Alice" });
  const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
  await h.timers.advance(0);
  const pc = h.rtc.pcs[0]!;
  setAnswer(reg, "v=0\r\nanswer1");
  await h.timers.advance(0);
  expect(h.client.getState().phase).to.equal("draining_ice");
  return { mf, reg, h, pc, done };
}

/** Guest: join, connect, answer the offer: both descriptions set. */
async function guestAnswered(s: Setup = {}) {
  const { mf, reg, h } = setup(s);
  await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
  reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
  const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
  await h.timers.advance(0);
  expect(h.client.getState().phase).to.equal("draining_ice");
  return { mf, reg, h, pc: h.rtc.pcs[0]!, done };
}

function expectOneConnectionFailed(h: Harness, message: string) {
  const errors = h.errors.filter((e) => (e as { code?: string }).code === "connection_failed");
  expect(errors.length, "exactly one connection_failed").to.equal(1);
  expect(errors[0]).to.be.instanceOf(ConnectionFailedError);
  expect(errors[0]!.message).to.equal(message);
  expect(h.closes).to.deep.equal(["connection_failed"]);
  expect(h.client.getState().phase).to.equal("error");
  expect(h.timers.pending, "timers left").to.equal(0);
  expect(h.mf.pendingCount, "requests left").to.equal(0);
  // No secret in what the player is told.
  expect(message).to.not.match(/SECRET|cred|turn:/);
}

function openAll(pc: MockPeerConnection) {
  pc.setConnectionState("connected");
  for (const dc of pc.channels) dc.open();
}

describe("connectivity: which ICE servers", () => {
  it("host: the Registry's servers from create are the connection's; guest: from join", async () => {
    const host = await hostAnswered();
    expect(host.pc.config).to.deep.equal({ iceServers: [STUN, TURN] });
    expect(host.pc.configs, "nothing to change before the offer").to.deep.equal([]);
    host.h.client.close();
    const guest = await guestAnswered({ grant: grant([STUN]) });
    expect(guest.pc.config).to.deep.equal({ iceServers: [STUN] });
    guest.h.client.close();
  });

  it("the page's iceServers win, even an empty list; a server without `ice` leaves the page's configuration", async () => {
    const a = await hostAnswered({ page: { iceServers: [], bundlePolicy: "max-bundle" } });
    expect(a.pc.config).to.deep.equal({ iceServers: [], bundlePolicy: "max-bundle" });
    a.h.client.close();
    const b = await hostAnswered({ features: "batch, end, restart, fast" });
    expect(b.pc.config).to.deep.equal({});
    b.h.client.close();
  });

  it("relay-only with a relay offered: iceTransportPolicy relay (option, or the page's own policy)", async () => {
    const a = await hostAnswered({ options: { relayOnly: true } });
    expect(a.pc.config).to.deep.equal({ iceServers: [STUN, TURN], iceTransportPolicy: "relay" });
    a.h.client.close();
    const b = await guestAnswered({ page: { iceServers: [TURN], iceTransportPolicy: "relay" } });
    expect(b.pc.config).to.deep.equal({ iceServers: [TURN], iceTransportPolicy: "relay" });
    b.h.client.close();
  });

  it("relay-only without a relay fails at once: no connection made, connection_failed, the room is told", async () => {
    for (const role of ["host", "guest"] as const) {
      const { reg, h } = setup({ grant: grant([STUN]), options: { relayOnly: true } });
      if (role === "host") await h.client.createRoom({ hostUserName: "A" });
      else await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "B" });
      const err = await swallow(
        h.client.connect({ role, code: reg.code, accessToken: role === "host" ? reg.ownerToken : reg.guestToken }),
      );
      await h.timers.advance(0);
      expect(err).to.be.instanceOf(ConnectionFailedError);
      expect(h.rtc.pcs.length).to.equal(0);
      expectOneConnectionFailed(h, CONNECT_FAILURE_MESSAGES.relay_only_without_relay);
      expect(reg.closeReasons).to.deep.equal(["connection_failed"]);
    }
  });
});

describe("connectivity: the connect bound", () => {
  it("host: no connection → one ICE restart at half the bound, then exactly one connection_failed (no relay configured)", async () => {
    const { mf, reg, h, pc, done } = await hostAnswered({ grant: grant([STUN]) });
    await h.timers.advance(T / 2 - 1);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    await h.timers.advance(1);
    const offers = mf.callsTo("POST /rooms/:code/offer");
    expect(offers.length).to.equal(2);
    expect(offers[1]!.body.restart).to.equal(true);
    expect(pc.offers.at(-1)).to.deep.equal({ iceRestart: true });
    // The guest answers the restart, still nothing connects.
    setAnswer(reg, "v=0\r\nanswer2");
    await h.timers.advance(T / 2 - 1);
    expect(h.errors).to.deep.equal([]);
    await h.timers.advance(1);
    expect(await done).to.be.instanceOf(ConnectionFailedError);
    expectOneConnectionFailed(h, CONNECT_FAILURE_MESSAGES.no_relay);
    // The room stays for "Try again": the guest's own bound tells it the same.
    expect(reg.closeReasons).to.deep.equal([]);
    expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(0);
    expect(pc.closed).to.equal(true);
    expect(pc.totalListeners()).to.equal(0);
  });

  it("guest: at half the bound it watches for the host's restart offer and answers it; then connection_failed (the relay failed)", async () => {
    const { mf, reg, h, pc } = await guestAnswered();
    await h.timers.advance(T / 2);
    reg.offer = { type: "offer", sdp: "v=0\r\noffer2" };
    reg.answer = null;
    reg.status = "joined";
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\noffer2");
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(2);
    await h.timers.advance(T / 2);
    expectOneConnectionFailed(h, CONNECT_FAILURE_MESSAGES.relay_failed);
  });

  it("connected within the bound: no restart, no error; a custom connectTimeoutMs", async () => {
    const { mf, h, pc } = await hostAnswered({ options: { connectTimeoutMs: 4000 } });
    expect(h.timers.pendingDelays()).to.include.members([2000, 4000]);
    await h.timers.advance(1999);
    openAll(pc);
    await h.timers.advance(60_000);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    expect(h.errors).to.deep.equal([]);
    expect(h.client.getState().phase).to.equal("open");
    h.client.close();
  });

  it("ICE connected but no data channel opens: channel_mismatch connectTimeoutMs after ICE connected, in words", async () => {
    for (const role of ["host", "guest"] as const) {
      const { mf, reg, h, pc, done } = role === "host" ? await hostAnswered() : await guestAnswered();
      await h.timers.advance(1000);
      pc.setConnectionState("connected");
      await h.timers.advance(T - 1);
      expect(h.errors, role).to.deep.equal([]);
      expect(h.client.getState().phase, role).to.equal("connecting_rtc");
      await h.timers.advance(1);
      const e = (await done) as ChannelMismatchError;
      expect(e, role).to.be.instanceOf(ChannelMismatchError);
      expect(e.message).to.equal(NO_CHANNEL);
      expect(h.errors.map((x) => (x as { code?: string }).code)).to.deep.equal(["channel_mismatch"]);
      expect(h.client.getState().phase).to.equal("error");
      // The other player may have its channels open (negotiated ones open by themselves): it is told.
      expect(reg.closeReasons).to.deep.equal(["channel_mismatch"]);
      expect(mf.pendingCount).to.equal(0);
      expect(h.timers.pending).to.equal(0);
      expect(pc.totalListeners()).to.equal(0);
    }
  });

  it("ICE connected before the answer step finished, no channel ever: channel_mismatch, not connection_failed", async () => {
    const { reg, h } = setup();
    await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
    const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    const pc = h.rtc.pcs[0]!;
    pc.setConnectionState("connected");
    expect(h.client.getState().phase).to.equal("posting_answer");
    await h.timers.advance(T);
    expect(await done).to.be.instanceOf(ChannelMismatchError);
    expect(h.errors.map((x) => (x as { code?: string }).code)).to.deep.equal(["channel_mismatch"]);
  });

  it("without the restart feature: no restart, connection_failed at the bound", async () => {
    const { mf, h } = await hostAnswered({ features: "batch, end, ice, fast" });
    await h.timers.advance(T);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    expectOneConnectionFailed(h, CONNECT_FAILURE_MESSAGES.relay_failed);
  });

  it("ICE failed before open: connection_failed at once; after open: recovered, not closed (README, Recovery)", async () => {
    const a = await hostAnswered();
    a.pc.setConnectionState("failed");
    await a.h.timers.advance(0);
    expectOneConnectionFailed(a.h, CONNECT_FAILURE_MESSAGES.relay_failed);
    const b = await hostAnswered();
    openAll(b.pc);
    await b.h.timers.advance(0);
    b.pc.setConnectionState("failed");
    await b.h.timers.advance(0);
    expect(b.h.errors).to.deep.equal([]);
    expect(b.h.closes).to.deep.equal([]);
    expect(b.h.named("onReconnecting")).to.deep.equal([[{ reason: "failed" }]]);
    b.h.client.close();
  });

  it("the other player gave up (410 closed, closeReason connection_failed): the same error here, in its words", async () => {
    const { reg, h, done } = await hostAnswered({ grant: grant([STUN]) });
    reg.closeReason = "connection_failed";
    reg.close();
    await h.timers.advance(0);
    expect(await done).to.be.instanceOf(ConnectionFailedError);
    expectOneConnectionFailed(h, `The other player could not connect. ${CONNECT_FAILURE_MESSAGES.no_relay}`);
    expect(reg.closeReasons, "nothing to tell a closed room").to.deep.equal([]);
  });

  it("a 200 snapshot that says closed (our server sends 410 instead; handled all the same) ends the wait as closed", async () => {
    const { mf, reg, h } = setup();
    await h.client.createRoom({ hostUserName: "A" });
    mf.script("POST /rooms/:code/watch", { status: 200, body: { room: { ...reg.snapshot(), status: "closed" } } });
    const p = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    expect(await p).to.be.instanceOf(ClosedError);
    expect(h.closes).to.deep.equal(["closed"]);
  });

  it("joining a room the host closed because nothing could connect: joinRoom rejects with that error, reported once", async () => {
    const { reg, h } = setup();
    reg.status = "closed";
    reg.closeReason = "connection_failed";
    const e = await swallow(h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "B" }));
    expect(e).to.be.instanceOf(ConnectionFailedError);
    expect(h.errors).to.deep.equal([e]);
    // Told from this side's view: it never got servers from the Registry.
    expect((e as Error).message).to.equal(`The other player could not connect. ${CONNECT_FAILURE_MESSAGES.no_relay}`);
  });

  it("a room closed for another reason before open stays `closed`", async () => {
    const { reg, h } = await hostAnswered();
    reg.close();
    await h.timers.advance(0);
    expect(h.errors.map((e) => (e as ClosedError).code)).to.deep.equal(["closed"]);
  });

  it("errorFromResponse keeps closeReason on ClosedError", () => {
    const e = errorFromResponse(410, errorEnvelope("closed", { closeReason: "connection_failed" }), null);
    expect(e).to.be.instanceOf(ClosedError);
    expect((e as ClosedError).closeReason).to.equal("connection_failed");
    expect((errorFromResponse(410, errorEnvelope("closed"), null) as ClosedError).closeReason).to.equal(undefined);
    expect(
      (errorFromResponse(410, { error: { code: "closed", closeReason: "boom" } }, null) as ClosedError).closeReason,
    ).to.equal(undefined);
  });
});

describe("connectivity: fresh credentials before an ICE restart", () => {
  /** Host open, then ICE drops: after the grace the restart offer goes out. */
  async function restartAfter(s: Setup, advanceBy = 0) {
    const r = await hostAnswered(s);
    openAll(r.pc);
    await r.h.timers.advance(advanceBy);
    r.pc.setConnectionState("disconnected");
    await r.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(r.mf.callsTo("POST /rooms/:code/offer").length).to.equal(2);
    return r;
  }

  it("expired Registry credentials are replaced (POST ice-servers) and set on the connection before the restart offer", async () => {
    const { mf, reg, h, pc } = await hostAnswered({ grant: grant([STUN, TURN], 70_000) });
    reg.freshGrant = grant([STUN, TURN2], 3_700_000);
    openAll(pc);
    await h.timers.advance(10_000);
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    const calls = mf.calls.map((c) => `${c.method} ${c.route}`);
    const fresh = calls.lastIndexOf("POST /rooms/:code/ice-servers");
    expect(fresh).to.be.greaterThan(-1);
    expect(fresh).to.be.lessThan(calls.lastIndexOf("POST /rooms/:code/offer"));
    expect(mf.callsTo("POST /rooms/:code/ice-servers")[0]!.body.token).to.equal(reg.ownerToken);
    expect(pc.configs).to.deep.equal([{ iceServers: [STUN, TURN2] }]);
    h.client.close();
  });

  it("expiry is judged on wallClockMs when given (the browser's nowMs is performance.now())", async () => {
    const { mf, h } = await restartAfter({
      grant: grant([STUN, TURN], 1_000_000_000),
      options: { wallClockMs: () => 2_000_000_000 },
    });
    expect(mf.callsTo("POST /rooms/:code/ice-servers").length).to.equal(1);
    h.client.close();
  });

  it("a failed refresh keeps the old servers and the restart goes on (no error of its own)", async () => {
    const { mf, h, pc } = await restartAfter({ grant: grant([STUN, TURN], 1000) });
    expect(mf.callsTo("POST /rooms/:code/ice-servers").length).to.equal(1);
    expect(h.errors).to.deep.equal([]);
    expect(pc.configs).to.deep.equal([]);
    h.client.close();
  });

  it("no refresh when they have not expired, when the page owns the servers, or without the feature", async () => {
    for (const s of [
      { grant: grant([STUN, TURN], 3_600_000) },
      { grant: grant([STUN, TURN], null) },
      { grant: grant([STUN, TURN], 1000), page: { iceServers: [TURN] } },
      { grant: grant([STUN, TURN], 1000), features: "batch, end, restart, fast" },
    ]) {
      const { mf, h } = await restartAfter(s);
      expect(mf.callsTo("POST /rooms/:code/ice-servers").length).to.equal(0);
      h.client.close();
    }
  });

  it("guest: answering a restart offer refreshes expired credentials too", async () => {
    const { mf, reg, h, pc } = await guestAnswered({ grant: grant([STUN, TURN], 1000) });
    reg.freshGrant = grant([STUN, TURN2], 3_700_000);
    await h.timers.advance(T / 2);
    reg.offer = { type: "offer", sdp: "v=0\r\noffer2" };
    reg.status = "joined";
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/ice-servers").length).to.equal(1);
    expect(pc.configs).to.deep.equal([{ iceServers: [STUN, TURN2] }]);
    h.client.close();
  });
});

describe("connectivity: the route", () => {
  const stats = (localType: string, remoteType: string) =>
    new Map<string, Record<string, unknown>>([
      ["T", { id: "T", type: "transport", selectedCandidatePairId: "P" }],
      ["P", { id: "P", type: "candidate-pair", localCandidateId: "L", remoteCandidateId: "R" }],
      ["L", { id: "L", type: "local-candidate", candidateType: localType, protocol: "udp" }],
      ["R", { id: "R", type: "remote-candidate", candidateType: remoteType, protocol: "udp" }],
    ]);

  it("onOpen tells the selected pair; getRoute() too; packets that arrive meanwhile come right after onOpen", async () => {
    let resolve!: (m: Map<string, Record<string, unknown>>) => void;
    const { h, pc, done } = await hostAnswered({ rtc: { stats: () => new Promise((r) => (resolve = r)) } });
    expect(h.client.getRoute()).to.equal(null);
    openAll(pc);
    pc.channels[0]!.dispatchEvent(new MessageEvent("message", { data: "early" }));
    expect(h.named("onOpen")).to.deep.equal([]);
    expect(h.named("onMessage")).to.deep.equal([]);
    resolve(stats("relay", "srflx"));
    await h.timers.advance(0);
    await done;
    const route = { localType: "relay", remoteType: "srflx", protocol: "udp", relayed: true };
    expect(h.named("onOpen")).to.deep.equal([[{ route }]]);
    expect(h.events.filter((e) => e.name === "onOpen" || e.name === "onMessage").map((e) => e.name)).to.deep.equal([
      "onOpen",
      "onMessage",
    ]);
    expect(h.client.getRoute()).to.deep.equal(route);
    h.client.close();
  });

  it("null when getStats fails, takes too long, or does not exist", async () => {
    const a = await hostAnswered({ rtc: { stats: () => Promise.reject(new Error("no")) } });
    openAll(a.pc);
    await a.h.timers.advance(0);
    expect(a.h.named("onOpen")).to.deep.equal([[{ route: null }]]);
    a.h.client.close();
    let late!: (m: Map<string, Record<string, unknown>>) => void;
    const b = await hostAnswered({ rtc: { stats: () => new Promise((r) => (late = r)) } });
    openAll(b.pc);
    await b.h.timers.advance(CLIENT_DEFAULTS.routeWaitMs - 1);
    expect(b.h.named("onOpen")).to.deep.equal([]);
    await b.h.timers.advance(1);
    expect(b.h.named("onOpen")).to.deep.equal([[{ route: null }]]);
    // The answer that comes too late changes nothing.
    late(stats("relay", "relay"));
    await b.h.timers.advance(0);
    expect(b.h.named("onOpen").length).to.equal(1);
    expect(b.h.client.getRoute()).to.equal(null);
    b.h.client.close();
    const c = await hostAnswered();
    openAll(c.pc);
    expect(c.h.named("onOpen")).to.deep.equal([[{ route: null }]]);
    c.h.client.close();
  });

  it("the pair the ICE transport names goes out with onOpen at once (no getStats); else getStats", async () => {
    const cand = (type: string, protocol?: string) => ({ type, protocol });
    let statsCalls = 0;
    const counted = async () => {
      statsCalls++;
      return stats("relay", "relay");
    };
    const a = await hostAnswered({
      rtc: { stats: counted, pair: { get: () => ({ local: cand("host", "tcp"), remote: cand("prflx") }) } },
    });
    openAll(a.pc);
    const route = { localType: "host", remoteType: "prflx", protocol: "tcp", relayed: false };
    expect(a.h.named("onOpen"), "no wait").to.deep.equal([[{ route }]]);
    expect(a.h.client.getRoute()).to.deep.equal(route);
    expect(statsCalls).to.equal(0);
    a.h.client.close();
    // No pair yet, a pair of an unknown kind, no such method or transport: getStats says.
    const relayed = { localType: "relay", remoteType: "relay", protocol: "udp", relayed: true };
    for (const pair of [
      { get: () => null },
      { get: () => ({ local: cand("mystery"), remote: cand("host") }) },
      { get: () => ({ local: cand("host"), remote: cand("mystery") }) },
      "no-method" as const,
      "no-ice-transport" as const,
    ]) {
      const b = await hostAnswered({ rtc: { stats: counted, pair } });
      openAll(b.pc);
      await b.h.timers.advance(0);
      expect(b.h.named("onOpen")).to.deep.equal([[{ route: relayed }]]);
      b.h.client.close();
    }
    expect(statsCalls).to.equal(5);
    // Named by the transport, and no getStats at all.
    const c = await hostAnswered({ rtc: { pair: { get: () => ({ local: cand("relay"), remote: cand("srflx") }) } } });
    openAll(c.pc);
    expect(c.h.client.getRoute()).to.deep.equal({
      localType: "relay",
      remoteType: "srflx",
      protocol: "udp",
      relayed: true,
    });
    c.h.client.close();
  });

  it("closed while the route is read: no onOpen, nothing left behind", async () => {
    let resolve!: (m: Map<string, Record<string, unknown>>) => void;
    const { h, pc } = await hostAnswered({ rtc: { stats: () => new Promise((r) => (resolve = r)) } });
    openAll(pc);
    h.client.close();
    resolve(stats("host", "host"));
    await h.timers.advance(CLIENT_DEFAULTS.routeWaitMs);
    expect(h.named("onOpen")).to.deep.equal([]);
    expect(h.timers.pending).to.equal(0);
  });

  it("after an ICE restart reconnects, getRoute() follows the new pair", async () => {
    let current = stats("host", "host");
    const { reg, h, pc } = await hostAnswered({ rtc: { stats: async () => current } });
    openAll(pc);
    await h.timers.advance(0);
    expect(h.client.getRoute()?.relayed).to.equal(false);
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    setAnswer(reg, "v=0\r\nanswer2");
    await h.timers.advance(0);
    current = stats("relay", "relay");
    pc.setConnectionState("connected");
    await h.timers.advance(0);
    expect(h.client.getRoute()).to.deep.equal({
      localType: "relay",
      remoteType: "relay",
      protocol: "udp",
      relayed: true,
    });
    expect(h.named("onOpen").length).to.equal(1);
    h.client.close();
  });
});
