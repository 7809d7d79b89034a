/**
 * Issue #14 on mocks: the control channel (heartbeat.ts), live quality (stats.ts, getStats,
 * onStats), requests riding out a Registry outage (transport until / time bounds / kick), and
 * "Try again" on either side of a room whose first connect failed.
 */
import { expect } from "@open-wc/testing";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import * as E from "../../src/client/errors.ts";
import { HEARTBEAT, Heartbeat } from "../../src/client/heartbeat.ts";
import { parseControl } from "../../src/protocol/control.ts";
import {
  JITTER0,
  QUALITY,
  channelStats,
  lossOf,
  rateQuality,
  readStats,
  rttAndJitter,
} from "../../src/client/stats.ts";
import { TimerScope, isAbortError } from "../../src/client/timers.ts";
import { REQUEST_BOUNDS, Transport } from "../../src/client/transport.ts";
import {
  FakeRegistry,
  MockDataChannel,
  MockFetch,
  MockTimers,
  err,
  harness,
  linkPeers,
  type MockPeerConnection,
} from "./fixtures/index.ts";

const swallow = (p: Promise<unknown>) => p.catch((e: unknown) => e);

async function openGuest(features = "all", options: Record<string, unknown> = {}) {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  reg.status = "joined";
  reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
  const h = harness({ mf, options });
  const done = swallow(
    h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken, unreliable: true }),
  );
  await h.timers.advance(0);
  const pc = h.rtc.pcs[0]!;
  const dc = pc.announceChannel("data");
  const u = pc.announceChannel("unreliable", { ordered: false, maxRetransmits: 0 });
  pc.setConnectionState("connected");
  dc.open();
  u.open();
  await done;
  const ctl = pc.channels.find((c) => c.label === HEARTBEAT.label)!;
  return { mf, reg, h, pc, dc, u, ctl };
}

/** The peer's side of the control channel: what it sends us. */
function beat(ctl: MockDataChannel, u = 0) {
  ctl.dispatchEvent(new MessageEvent("message", { data: JSON.stringify({ hb: 1, u }) }));
}

describe("control channel (heartbeat)", () => {
  it("parseControl: beats, bye, and anything else ignored", () => {
    expect(parseControl('{"hb":3,"u":7}')).to.deep.equal({ hb: 3, u: 7 });
    expect(parseControl('{"bye":1}')).to.equal("bye");
    for (const x of ["nope", "null", '{"hb":"x","u":1}', '{"hb":1}', "x".repeat(300), new ArrayBuffer(2), '{"bye":2}'])
      expect(parseControl(x)).to.equal(null);
  });

  it("one beat per interval on the pre-negotiated channel; silence only judged once the peer has beaten", async () => {
    const { h, pc, ctl, u } = await openGuest();
    expect([ctl.negotiated, ctl.id, ctl.ordered, ctl.maxRetransmits]).to.deep.equal([true, HEARTBEAT.id, false, 0]);
    // Not open yet (the peer has no such channel, or not yet): nothing sent, no silence.
    await h.timers.advance(10_000);
    expect(ctl.sent).to.deep.equal([]);
    expect(h.named("onReconnecting")).to.deep.equal([]);
    ctl.open();
    u.dispatchEvent(new MessageEvent("message", { data: "x" }));
    ctl.dispatchEvent(new MessageEvent("message", { data: "not a beat" })); // ignored: the peer has not beaten
    await h.timers.advance(3 * HEARTBEAT.intervalMs);
    expect(ctl.sent.length).to.equal(4); // one at open, then one per interval
    expect([JSON.parse(ctl.sent[0] as string).u, JSON.parse(ctl.sent[1] as string).u]).to.deep.equal([0, 1]); // our unreliable receive count rides along
    expect(h.named("onReconnecting")).to.deep.equal([]); // a peer without heartbeats is never judged
    beat(ctl);
    await h.timers.advance(HEARTBEAT.silenceMs);
    expect(h.named("onReconnecting")).to.deep.equal([]);
    await h.timers.advance(HEARTBEAT.intervalMs);
    expect(h.named("onReconnecting")).to.deep.equal([[{ reason: "peer_unresponsive" }]]);
    await h.timers.advance(5000);
    expect(h.named("onReconnecting").length).to.equal(1);
    // Heard again while ICE is connected: recovered.
    beat(ctl);
    expect(h.named("onReconnected").length).to.equal(1);
    // A silent peer keeps a "connected" ICE from counting as recovery.
    await h.timers.advance(HEARTBEAT.silenceMs + HEARTBEAT.intervalMs);
    expect(h.named("onReconnecting").length).to.equal(2);
    pc.setConnectionState("connected");
    expect(h.named("onReconnected").length).to.equal(1);
    // Heard while ICE is not connected: not yet.
    pc.connectionState = "disconnected";
    beat(ctl);
    expect(h.named("onReconnected").length).to.equal(1);
    h.client.close();
    expect(ctl.sent.at(-1)).to.equal('{"bye":1}');
    expect(ctl.readyState).to.equal("closed");
  });

  it("a bye from the peer closes at once (peer_closed); a full channel never throws", async () => {
    const { h, ctl } = await openGuest();
    ctl.open();
    ctl.throwOnSend = new DOMException("full", "OperationError");
    await h.timers.advance(2000);
    ctl.dispatchEvent(new MessageEvent("message", { data: '{"bye":1}' }));
    expect(h.closes).to.deep.equal(["peer_closed"]);
  });

  it("Heartbeat alone: stop() removes its listener and timer", () => {
    const timers = new MockTimers();
    const scope = new TimerScope(timers.setTimeoutImpl, timers.clearTimeoutImpl, () => {});
    const dc = new MockDataChannel("c");
    const hb = new Heartbeat(dc as unknown as RTCDataChannel, scope, timers.nowMs, {
      silent: () => {},
      heard: () => {},
      bye: () => {},
      unreliableReceived: () => 0,
      unreliableSent: () => 0,
    });
    expect([dc.listeners, scope.size, hb.answered, hb.silent]).to.deep.equal([2, 1, false, false]);
    hb.stop();
    expect([dc.listeners, scope.size]).to.deep.equal([0, 0]);
  });

  it("loss on the unreliable channel from the peer's count (heartbeat), in getStats()", async () => {
    const { h, pc, ctl, u } = await openGuest();
    ctl.open();
    for (let i = 0; i < 50; i++) h.client.send(`u${i}`, { reliable: false });
    beat(ctl, 0); // first report: our count is taken now
    for (let i = 0; i < 10; i++) h.client.send(`v${i}`, { reliable: false });
    beat(ctl, 45); // 45 of the 50 sent before the previous beat arrived
    (pc as unknown as { getStats: () => Promise<Map<string, unknown>> }).getStats = async () => new Map();
    const st = await h.client.getStats();
    expect(st!.unreliableLoss).to.equal(0.1);
    expect(u.sent.length).to.equal(60);
    h.client.close();
  });
});

describe("the guest's offer watch while open", () => {
  it("the room closed by the other side is a close, not an error; another failure ends the session", async () => {
    const a = await openGuest();
    await a.h.timers.advance(5000); // the drain has stopped: the offer watch is the one read held
    expect(a.mf.pendingCount).to.equal(1);
    a.reg.close();
    await a.h.timers.advance(0);
    expect(a.h.closes).to.deep.equal(["closed"]);
    expect(a.h.errors).to.deep.equal([]);
    const b = await openGuest();
    await b.h.timers.advance(5000);
    expect(b.mf.pendingCount).to.equal(1);
    b.mf.script("POST /rooms/:code/watch", err("forbidden", 403));
    (b.h.client as unknown as { transport: { kick(): void } }).transport.kick(); // the held read goes again, refused
    await b.h.timers.advance(0);
    expect(b.h.closes).to.deep.equal(["forbidden"]);
  });
});

describe("stats", () => {
  const report = (extra: Record<string, unknown>[] = [], pair: Record<string, unknown> = {}) =>
    new Map(
      [
        { id: "T", type: "transport", selectedCandidatePairId: "P" },
        {
          id: "P",
          type: "candidate-pair",
          localCandidateId: "L",
          remoteCandidateId: "R",
          currentRoundTripTime: 0.05,
          responsesReceived: 4,
          totalRoundTripTime: 0.2,
          ...pair,
        },
        { id: "L", type: "local-candidate", candidateType: "srflx", protocol: "udp" },
        { id: "R", type: "remote-candidate", candidateType: "host" },
        {
          id: "D0",
          type: "data-channel",
          dataChannelIdentifier: 0,
          label: "data",
          bytesSent: 10,
          bytesReceived: 20,
          messagesSent: 1,
          messagesReceived: 2,
        },
        ...extra,
      ].map((s) => [s.id as string, s]),
    );

  it("quality thresholds: the worst figure decides; unknown figures do not count; reconnecting is poor", () => {
    const q = (
      rttMs: number | null,
      jitterMs: number | null = null,
      unreliableLoss: number | null = null,
      reconnecting = false,
    ) => rateQuality({ rttMs, jitterMs, unreliableLoss, reconnecting });
    expect(q(null)).to.equal("excellent");
    expect(q(50, 5, 0)).to.equal("excellent");
    expect(q(150)).to.equal("good");
    expect(q(50, 30)).to.equal("good");
    expect(q(50, 5, 0.05)).to.equal("fair");
    expect(q(500)).to.equal("poor");
    expect(q(50, 200)).to.equal("poor");
    expect(q(10, 0, 0, true)).to.equal("poor");
    expect(QUALITY.map((t) => t.q)).to.deep.equal(["excellent", "good", "fair"]);
  });

  it("RTT from the selected pair; jitter from successive samples (smoothed)", () => {
    let j = rttAndJitter(report(), JITTER0);
    expect([j.rttMs, j.jitterMs, j.lastRttMs]).to.deep.equal([50, null, 50]);
    j = rttAndJitter(report([], { responsesReceived: 6, totalRoundTripTime: 0.4, currentRoundTripTime: 0.11 }), j);
    expect([j.rttMs, Math.round(j.jitterMs!), Math.round(j.lastRttMs!)]).to.deep.equal([110, 50, 100]);
    j = rttAndJitter(report([], { responsesReceived: 8, totalRoundTripTime: 0.6, currentRoundTripTime: 0.1 }), j);
    expect(Math.round(j.jitterMs!)).to.equal(44); // 50 + (0 - 50) / 8
    // no new sample: the jitter stays; no pair / no RTT yet: null
    const same = rttAndJitter(
      report([], { responsesReceived: 8, totalRoundTripTime: 0.6, currentRoundTripTime: 0.1 }),
      j,
    );
    expect(same.jitterMs).to.equal(j.jitterMs);
    expect(rttAndJitter(new Map(), j).rttMs).to.equal(null);
    expect(rttAndJitter(report([], { currentRoundTripTime: undefined }), j).rttMs).to.equal(null);
    // a pair without counters: an RTT, but no samples for jitter
    const bare = rttAndJitter(report([], { responsesReceived: "x", totalRoundTripTime: undefined }), JITTER0);
    expect([bare.rttMs, bare.lastRttMs, bare.jitterMs]).to.deep.equal([50, null, null]);
  });

  it("per-channel counters by SCTP id; loss needs enough sent", () => {
    const r = report([{ id: "D1", type: "data-channel", dataChannelIdentifier: 1 }]);
    expect(channelStats(r, 0)).to.deep.equal({
      label: "data",
      bytesSent: 10,
      bytesReceived: 20,
      messagesSent: 1,
      messagesReceived: 2,
    });
    expect(channelStats(r, 1)).to.deep.equal({
      label: "",
      bytesSent: 0,
      bytesReceived: 0,
      messagesSent: 0,
      messagesReceived: 0,
    });
    expect([channelStats(r, 7), channelStats(r, null), channelStats(r, undefined)]).to.deep.equal([null, null, null]);
    expect([lossOf(19, 0), lossOf(100, null), lossOf(100, 90), lossOf(100, 120)]).to.deep.equal([null, null, 0.1, 0]);
    const { stats } = readStats(r, { reliable: 0, unreliable: undefined }, JITTER0, {
      at: 5,
      reconnecting: false,
      unreliableLoss: null,
    });
    expect(stats).to.deep.include({ at: 5, rttMs: 50, unreliable: null, quality: "excellent" });
    expect(stats.route).to.deep.equal({ localType: "srflx", remoteType: "host", protocol: "udp", relayed: false });
  });

  it("client: getStats() null before open and after close; onStats every statsIntervalMs; 0 = off", async () => {
    const fresh = harness();
    expect(await fresh.client.getStats()).to.equal(null);
    const { h, pc } = await openGuest("all", { statsIntervalMs: 500 });
    let calls = 0;
    (pc as unknown as { getStats: () => Promise<unknown> }).getStats = async () => {
      calls++;
      if (calls === 2) throw new DOMException("closing", "InvalidStateError");
      return new Map();
    };
    await h.timers.advance(1500);
    expect(h.named("onStats").length).to.equal(2); // the second read failed: skipped, the loop goes on
    expect((h.named("onStats")[0]![0] as { quality: string }).quality).to.equal("excellent");
    h.client.close();
    expect(await h.client.getStats()).to.equal(null);
    const off = await openGuest("all", { statsIntervalMs: 0 });
    await off.h.timers.advance(5000);
    expect(off.h.named("onStats")).to.deep.equal([]);
    off.h.client.close();
  });

  it("client: a stats read that lands after close is not emitted", async () => {
    const { h, pc } = await openGuest("all", { statsIntervalMs: 100 });
    let release: (v: unknown) => void = () => {};
    (pc as unknown as { getStats: () => Promise<unknown> }).getStats = () => new Promise((r) => (release = r));
    await h.timers.advance(100);
    h.client.close();
    release(new Map());
    await h.timers.advance(0);
    expect(h.named("onStats")).to.deep.equal([]);
  });
});

describe("Registry outages", () => {
  function transport(now: { t: number }) {
    const mf = new MockFetch();
    const timers = new MockTimers();
    const scope = new TimerScope(timers.setTimeoutImpl, timers.clearTimeoutImpl, () => {});
    const t = new Transport({
      baseUrl: mf.base,
      fetchImpl: mf.fetchImpl,
      nowMs: () => timers.now + now.t,
      random: () => 0.5,
      timers: scope,
      csrfHeaderName: "X-Registry-Version",
      csrfHeaderValue: "1",
      telemetry: () => {},
      onRetry: () => {},
    });
    return { mf, timers, t };
  }

  it("with a deadline, transient failures are retried until it (not a number of tries), backoff capped at 4 s", async () => {
    const { mf, timers, t } = transport({ t: 0 });
    for (let i = 0; i < 12; i++) mf.script("GET /rooms/:code", new TypeError("down"));
    mf.on("GET /rooms/:code", () => ({ status: 200, body: { ok: 1 } }));
    const ctl = new AbortController();
    const p = t.request({
      method: "GET",
      path: "/rooms/ABC123",
      route: "/rooms/:code",
      signal: ctl.signal,
      idempotent: true,
      until: () => 60_000,
    });
    await timers.advance(40_000);
    expect((await p).body).to.deep.equal({ ok: 1 });
    expect(mf.calls.length).to.equal(13);
    // past the deadline: the failure is thrown
    mf.script("GET /rooms/:code", new TypeError("down"), new TypeError("down"));
    const late = swallow(
      t.request({
        method: "GET",
        path: "/rooms/ABC123",
        route: "/rooms/:code",
        signal: ctl.signal,
        idempotent: true,
        until: () => timers.now + 500,
      }),
    );
    await timers.advance(5000);
    expect(await late).to.be.instanceOf(E.NetworkError);
  });

  it("every request has a time bound: 15 s, a long-poll (/watch) its hold + 5 s; then it is a network failure", async () => {
    const { mf, timers, t } = transport({ t: 0 });
    mf.on("GET /rooms/:code", () => new Promise(() => {}));
    const ctl = new AbortController();
    const plain = swallow(
      t.request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal, maxRetries: 0 }),
    );
    mf.on("POST /rooms/:code/watch", () => new Promise(() => {}));
    // (ext fast) the hold in the body of a /watch
    const watched = swallow(
      t.request({
        method: "POST",
        path: "/rooms/ABC123/watch",
        route: "/rooms/:code/watch",
        body: { wait: 2 },
        signal: ctl.signal,
        maxRetries: 0,
      }),
    );
    await timers.advance(2000 + REQUEST_BOUNDS.longpollGraceMs - 1);
    expect(mf.callsTo("POST /rooms/:code/watch")[0]!.aborted).to.equal(false);
    await timers.advance(1);
    expect(await watched).to.be.instanceOf(E.NetworkError);
    await timers.advance(REQUEST_BOUNDS.timeoutMs - 7001);
    expect(mf.callsTo("GET /rooms/:code")[0]!.aborted).to.equal(false);
    await timers.advance(1);
    expect(await plain).to.be.instanceOf(E.NetworkError);
    expect(mf.calls.every((c) => c.aborted)).to.equal(true);
  });

  it("kick(): backoff waits end and requests in flight go again at once; the caller's abort still wins", async () => {
    const { mf, timers, t } = transport({ t: 0 });
    let hang = true;
    mf.script("GET /rooms/:code", new TypeError("down"));
    mf.on("GET /rooms/:code", () => (hang ? new Promise(() => {}) : { status: 200, body: { ok: 2 } }));
    const ctl = new AbortController();
    const p = t.request({
      method: "GET",
      path: "/rooms/ABC123",
      route: "/rooms/:code",
      signal: ctl.signal,
      idempotent: true,
      until: () => 1e9,
    });
    await timers.advance(0);
    expect(mf.calls.length).to.equal(1);
    t.kick(); // ends the backoff wait
    await timers.advance(0);
    expect(mf.calls.length).to.equal(2); // now hanging
    hang = false;
    t.kick(); // re-sent at once
    await timers.advance(0);
    expect((await p).body).to.deep.equal({ ok: 2 });
    // abort during a backoff wait
    mf.script("GET /rooms/:code", new TypeError("down"));
    const q = swallow(
      t.request({
        method: "GET",
        path: "/rooms/ABC123",
        route: "/rooms/:code",
        signal: ctl.signal,
        idempotent: true,
        until: () => 1e9,
      }),
    );
    await timers.advance(0);
    ctl.abort();
    expect(isAbortError(await q)).to.equal(true);
  });

  it("the session's requests ride out an outage and go on where they were (guest's answer)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
    for (let i = 0; i < 8; i++) mf.script("POST /rooms/:code/answer", err("unavailable", 503));
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(20_000);
    expect(reg.answer).to.not.equal(null);
    expect(h.client.getState().phase).to.equal("draining_ice");
    expect(h.closes).to.deep.equal([]);
    h.client.close();
  });

  it("the outage deadline comes from the room's TTL: past it the session fails", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
    const h = harness({ mf });
    // The snapshot says the room lives 10 s in its state.
    // (The first read: no request told the features yet, so a plain one.)
    mf.script("GET /rooms/:code", {
      status: 200,
      body: { status: "joined", offer: reg.offer, answer: null, updatedAt: 1000, expiresAt: 11_000, version: 1 },
    });
    for (let i = 0; i < 40; i++) mf.script("POST /rooms/:code/answer", new TypeError("down"));
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(5000);
    expect(h.closes).to.deep.equal([]); // still retrying
    await h.timers.advance(9000); // no retry is started that would land past the room's 10 s
    expect(h.client.getState().phase).to.equal("error");
    expect(h.client.getState().lastError?.code).to.equal("network");
  });
});

describe('"Try again" on a room whose first connect failed', () => {
  /** Host and guest, first connect done up to the answer; then both fail (ICE stays disconnected past the grace). */
  async function failedOnce() {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    reg.status = "joined";
    const host = harness({ mf });
    const guest = harness({ mf, timers: host.timers });
    void swallow(host.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    void swallow(guest.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await host.timers.advance(100);
    expect(reg.status).to.equal("paired");
    host.rtc.pcs[0]!.setConnectionState("disconnected");
    guest.rtc.pcs[0]!.setConnectionState("disconnected");
    await host.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect([host.closes, guest.closes]).to.deep.equal([["disconnected"], ["disconnected"]]);
    expect(reg.status).to.equal("paired"); // the room stays for a retry
    return { mf, reg, timers: host.timers };
  }

  async function retry(first: "host" | "guest") {
    const { mf, reg, timers } = await failedOnce();
    const host = harness({ mf, timers });
    const guest = harness({ mf, timers });
    const go = {
      host: () => void swallow(host.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken })),
      guest: () => void swallow(guest.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken })),
    };
    go[first]();
    await timers.advance(1000);
    go[first === "host" ? "guest" : "host"]();
    await timers.advance(1000);
    const hpc = host.rtc.pcs[0]! as MockPeerConnection;
    const gpc = guest.rtc.pcs[0]! as MockPeerConnection;
    // The guest answered the host's new offer, never the old one.
    expect(gpc.remoteDescription?.sdp).to.equal(hpc.localDescription?.sdp);
    expect(hpc.remoteDescription?.sdp).to.equal(gpc.localDescription?.sdp);
    linkPeers(hpc, gpc);
    await timers.advance(0);
    expect([host.client.getState().phase, guest.client.getState().phase]).to.deep.equal(["open", "open"]);
    expect(mf.callsTo("POST /rooms/:code/offer").map((c) => c.body.restart ?? false)).to.deep.equal([
      false,
      false,
      true,
    ]);
    host.client.close();
    guest.client.close();
  }

  it("host first: its offer on the paired room goes again as a restart; the guest answers it", () => retry("host"));
  it("guest first: it waits for the host's new offer (the old one was answered)", () => retry("guest"));

  it("a server without restarts keeps already_paired for the host", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "batch, end, fast");
    reg.status = "paired";
    reg.offer = { type: "offer", sdp: "v=0\r\nold" };
    reg.answer = { type: "answer", sdp: "v=0\r\nold" };
    mf.script("POST /rooms/:code/offer", err("already_paired", 409));
    const h = harness({ mf });
    const e = await swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    expect(e).to.be.instanceOf(E.AlreadyPairedError);
    expect(CLIENT_DEFAULTS.reconnectWindowMs).to.equal(45_000);
  });

  it("(ext) with ETags, the guest's offer watch long-polls from its answer's version (no read between)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    reg.writeEtags = true;
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(0);
    // The offer read (a plain read: no request told the features yet), then the offer watch held
    // from the answer's version (the drain's /watch calls carry no version).
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(1);
    const held = mf.callsTo("POST /rooms/:code/watch").filter((c) => c.body.version !== undefined);
    expect(held.map((c) => c.body.version)).to.deep.equal([reg.version]);
    h.client.close();
  });
});
