/**
 * (ext `fast`, docs/protocol.md, Extensions: Fast) The client on the few-round-trip path: every
 * request a CORS-simple POST (no custom header: no preflight), the host's offer with its room, the
 * guest answering from its join's answer, candidates riding with the answer and the waits, and
 * `/watch` instead of every GET. Falls back when the server has no `fast`.
 */
import { expect } from "@open-wc/testing";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import * as E from "../../src/client/errors.ts";
import { FakeRegistry, MockFetch, MockTimers, err, harness, linkPeers, type Call } from "./fixtures/index.ts";

const C = (n: number) => `candidate:${n} 1 udp 2122260223 192.168.1.${n} 5${n}00 typ host generation 0`;

async function swallow(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e;
  }
}

/** Every request of the fast path is a simple one: POST, text/plain, no custom header, `v` (and the token) in the body. */
function expectSimple(calls: Call[]): void {
  for (const c of calls) {
    expect(c.method, `${c.route}`).to.equal("POST");
    expect(c.headers["content-type"], `${c.route}`).to.match(/^text\/plain/);
    expect(
      Object.keys(c.headers).filter((k) => k !== "content-type"),
      `${c.route}`,
    ).to.deep.equal([]);
    expect(c.body.v, `${c.route}`).to.equal(1);
    if (c.route.startsWith("/rooms/:code/") && c.route !== "/rooms/:code/join")
      expect(c.body.token, `${c.route}`).to.be.a("string");
  }
}

/** What a request says besides `v` and `token`. */
function said(c: Call): Record<string, unknown> {
  const { v: _v, token: _t, ...rest } = c.body;
  return rest;
}

const watches = (mf: MockFetch) => mf.callsTo("POST /rooms/:code/watch");
/** The guest's offer watch (README, Recovery): a room watch waiting for no description and carrying no drain. */
const isOfferWatch = (c: Call) => c.body.for === undefined && c.body.since === undefined;
/** The other watches: the host's wait for the answer, the guest's wait for the offer, the drains. */
const handshakeWatches = (mf: MockFetch) => watches(mf).filter((c) => !isOfferWatch(c));

describe("fast path (ext fast)", () => {
  it("host offers on its first watch as the room exists; guest answers from its join; candidates ride along; no GET, no preflight", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    const host = harness({ mf, timers, seed: 1 });
    const guest = harness({ mf, timers, seed: 2 });

    const created = await host.client.createRoom({ hostUserName: "Alice", prepare: { unreliable: true } });
    const hpc = host.rtc.pcs[0]!;
    const create = mf.callsTo("POST /rooms")[0]!;
    expect(said(create), "the create does not wait for the offer").to.deep.equal({ hostUserName: "Alice" });
    // (ext offer-watch) The offer leaves as the room exists, on the host's first wait for the answer.
    expect(mf.calls.map((c) => c.route)).to.deep.equal(["/rooms", "/rooms/:code/watch"]);
    const first = said(watches(mf)[0]!) as { offer: { sdp: string } };
    expect(first).to.deep.equal({ offer: { type: "offer", sdp: first.offer.sdp }, for: "answer", since: 0, wait: 25 });
    expect(reg.offer!.sdp).to.equal(first.offer.sdp);
    expect(reg.held, "held for the answer").to.equal(1);
    expect(hpc.channels.map((d) => d.label)).to.deep.equal(["data", "unreliable"]);
    expect(hpc.localDescription, "not before connect()").to.equal(null);
    expect(host.named("onDataChannel").length, "told at connect()").to.equal(0);

    const hostDone = host.client.connect({
      role: "host",
      code: created.code,
      accessToken: created.ownerToken,
      unreliable: true,
    });
    await timers.advance(0);
    expect(hpc.localDescription!.sdp).to.equal(first.offer.sdp);
    expect(hpc.offers.length, "one offer only").to.equal(1);
    expect(host.named("onDataChannel").length).to.equal(2);
    expect(mf.callsTo("POST /rooms/:code/offer").length, "no offer post").to.equal(0);
    expect(watches(mf).length, "connect() reads the wait createRoom sent").to.equal(1);
    hpc.emitCandidate(C(1));
    // The first post waits for the rest of the burst (coalesceMs), later ones go as they come.
    await timers.advance(CLIENT_DEFAULTS.coalesceMs - 1);
    expect(reg.cands.host).to.deep.equal([]);
    await timers.advance(1);
    expect(reg.cands.host.map((s) => s.c.candidate)).to.deep.equal([C(1)]);

    const joined = await guest.client.joinRoom({
      code: created.code,
      joinCode: created.joinCode,
      guestUserName: "Bob",
    });
    expect(joined).to.deep.equal({ guestToken: reg.guestToken, expiresAt: 300_000 });
    expect(reg.held, "the join did not wake the host").to.equal(1);
    const guestDone = guest.client.connect({
      role: "guest",
      code: created.code,
      accessToken: joined.guestToken,
      unreliable: true,
    });
    const gpc = guest.rtc.pcs[0]!;
    // Gathered before the answer goes: they go with it, and so does the end mark.
    gpc.emitCandidate(C(3));
    gpc.emitCandidate(null);
    hpc.emitCandidate(C(2));
    await timers.advance(0);
    const answer = mf.callsTo("POST /rooms/:code/answer")[0]!;
    expect(answer.body).to.deep.include({
      candidates: [{ candidate: C(3), sdpMid: "0", sdpMLineIndex: 0 }],
      end: true,
      since: 1,
    });
    expect(gpc.remoteDescription!.sdp, "answered from the join's offer").to.equal(first.offer.sdp);
    expect(
      mf.calls.filter((c) => c.route === "/rooms/:code/watch" && c.headers === guest.mf.calls[0]?.headers).length,
    ).to.equal(0);
    // The host's candidates: C(1) from the join, C(2) with the answer's reply.
    expect(gpc.added.map((c) => c?.candidate)).to.deep.equal([C(1), C(2)]);
    // The host's one wait came back with the answer and the guest's candidates and end mark.
    expect(hpc.remoteDescription!.sdp).to.equal(answer.body.sdp);
    expect(hpc.added.map((c) => c?.candidate)).to.deep.equal([C(3), undefined]);
    expect(mf.callsTo("POST /rooms/:code/candidate").map(said)).to.deep.equal([
      { items: [{ candidate: C(1), sdpMid: "0", sdpMLineIndex: 0 }] },
      { items: [{ candidate: C(2), sdpMid: "0", sdpMLineIndex: 0 }] },
    ]);

    linkPeers(hpc, gpc);
    await hostDone;
    await guestDone;
    expect(host.phases).to.deep.equal([
      "creating_room",
      "waiting_guest",
      "posting_offer",
      "polling_room",
      "draining_ice",
      "connecting_rtc",
      "open",
    ]);
    expect(guest.phases).to.deep.equal([
      "joining_room",
      "idle",
      "posting_answer",
      "draining_ice",
      "connecting_rtc",
      "open",
    ]);
    expect(mf.calls.filter((c) => c.method === "GET")).to.deep.equal([]);
    expectSimple(mf.calls);
    // create, join, answer, 2 candidate posts, the host's wait and its drain, the guest's drain,
    // and the guest's offer watch (held from its answer on; README, Recovery).
    expect(mf.calls.filter((c) => !(c.route === "/rooms/:code/watch" && isOfferWatch(c))).length).to.be.at.most(8);
    // (a first read, then held: the answer's reply on the fast path carries no version to start from)
    expect(watches(mf).filter(isOfferWatch).length).to.equal(2);

    // Only the guest's offer watch goes on (a held read per hold).
    const others = () => mf.calls.filter((c) => !(c.route === "/rooms/:code/watch" && isOfferWatch(c))).length;
    await timers.advance(10_000);
    const n = others();
    await timers.advance(10_000);
    expect(others(), "drains stopped after open").to.equal(n);
    host.client.close("bye");
    await timers.advance(0);
    expect(reg.status).to.equal("closed");
    expect(mf.callsTo("POST /rooms/:code/close")[0]!.keepalive).to.equal(true);
    expectSimple(mf.calls);
    expect(guest.closes).to.deep.equal(["peer_closed"]);
    expect(timers.pending).to.equal(0);
    expect(mf.pendingCount).to.equal(0);
    expect([...host.errors, ...guest.errors]).to.deep.equal([]);
  });

  it("guest joins before the offer: waits for it on /watch; a server without ETag on create starts from version 1", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    mf.on("POST /rooms", () => ({
      status: 201,
      body: { code: reg.code, ownerToken: reg.ownerToken, joinCode: reg.joinCode, expiresAt: 900_000 },
    }));
    const timers = new MockTimers();
    const host = harness({ mf, timers, seed: 1 });
    const guest = harness({ mf, timers, seed: 2 });
    // A host without prepare: the offer is posted by connect().
    const created = await host.client.createRoom({ hostUserName: "Alice" });
    const joined = await guest.client.joinRoom({
      code: created.code,
      joinCode: created.joinCode,
      guestUserName: "Bob",
    });
    const guestDone = guest.client.connect({ role: "guest", code: created.code, accessToken: joined.guestToken });
    await timers.advance(0);
    expect(said(watches(mf)[0]!)).to.deep.equal({ for: "offer", since: 0, wait: 25 });
    expect(reg.held).to.equal(1);
    const hostDone = host.client.connect({ role: "host", code: created.code, accessToken: created.ownerToken });
    await timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    const hpc = host.rtc.pcs[0]!;
    const gpc = guest.rtc.pcs[0]!;
    expect(gpc.remoteDescription!.sdp).to.equal(reg.offer!.sdp);
    // Nothing gathered before the answer: it carries only the cursor.
    const answer = mf.callsTo("POST /rooms/:code/answer")[0]!;
    expect(Object.keys(said(answer)).sort()).to.deep.equal(["sdp", "since", "type"]);
    expect(hpc.remoteDescription!.sdp).to.equal(answer.body.sdp);
    linkPeers(hpc, gpc);
    await hostDone;
    await guestDone;
    expectSimple(mf.calls.slice(1));
    host.client.close();
    guest.client.close();
    await timers.advance(0);
  });

  it("an answer the server does not echo a page for, and watches without a room or a page: polled, never spun", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    const h = harness({ mf, timers });
    const j = await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    // First watch: no room in it (not what a server with `fast` sends).
    mf.script("POST /rooms/:code/watch", { status: 200, body: {} });
    mf.script("POST /rooms/:code/answer", { status: 204 });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: j.guestToken }));
    await timers.advance(0);
    expect(handshakeWatches(mf).length).to.equal(1);
    await timers.advance(999);
    expect(handshakeWatches(mf).length, "waits a poll interval").to.equal(1);
    await timers.advance(1);
    expect(handshakeWatches(mf).length).to.equal(2);
    expect(reg.held).to.equal(1);
    // The drain after the answer: a reply without a page is polled too.
    mf.script("POST /rooms/:code/watch", { status: 200, body: { room: reg.snapshot() } });
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    reg.wake();
    await timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(1);
    expect(handshakeWatches(mf).length).to.equal(3);
    await timers.advance(999);
    expect(handshakeWatches(mf).length).to.equal(3);
    await timers.advance(501);
    expect(handshakeWatches(mf).length).to.equal(4);
    h.client.close();
    await timers.advance(0);
  });

  it("guest: the host's end mark already in the join's page: no drain at all; nothing gathered: no candidates in the answer", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    reg.addCandidate("host", C(1));
    reg.markEnd("host");
    // A connect bound past the 5 s looked at: at its half the guest would watch for a restart offer.
    const h = harness({ mf, timers, options: { connectTimeoutMs: 60_000 } });
    const j = await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: j.guestToken }));
    await timers.advance(0);
    const answer = mf.callsTo("POST /rooms/:code/answer")[0]!;
    expect(Object.keys(said(answer)).sort(), "no cursor: the host's candidates are all in").to.deep.equal([
      "sdp",
      "type",
    ]);
    const gpc = h.rtc.pcs[0]!;
    expect(gpc.added.map((c) => c?.candidate)).to.deep.equal([C(1), undefined]);
    await timers.advance(5000);
    expect(handshakeWatches(mf).length, "nothing left to read").to.equal(0);
    h.client.close();
    await timers.advance(0);
  });

  it("guest: gathering over without `end` on the server: the answer carries candidates but no end mark", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "longpoll, delta, batch, restart, fast");
    const timers = new MockTimers();
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    const h = harness({ mf, timers });
    const j = await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: j.guestToken }));
    h.rtc.pcs[0]!.emitCandidate(C(3));
    h.rtc.pcs[0]!.emitCandidate(null);
    await timers.advance(0);
    const answer = mf.callsTo("POST /rooms/:code/answer")[0]!;
    expect(answer.body.candidates.length).to.equal(1);
    expect(answer.body.end).to.equal(undefined);
    h.client.close();
    await timers.advance(0);
  });

  it("a join answer for another token, or a sent offer for another room, is not used", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    const g = harness({ mf, timers, seed: 2 });
    await g.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    void swallow(g.client.connect({ role: "guest", code: reg.code, accessToken: "another-guest-token" }));
    await timers.advance(0);
    expect(watches(mf).length, "reads the room instead").to.equal(1);
    g.client.close();
    const h = harness({ mf, timers, seed: 1 });
    await h.client.createRoom({ hostUserName: "Alice", prepare: {} });
    void swallow(h.client.connect({ role: "host", code: reg.code, accessToken: "another-owner-token" }));
    await timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/offer").length, "offers again").to.equal(1);
    h.client.close();
    await timers.advance(0);
  });

  it("createRoom with prepare: a failed create keeps the prepared connection for the next try; an oversized offer ends the session and closes the room", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    mf.script("POST /rooms", err("bad_request", 400));
    const h = harness({ mf });
    expect(await swallow(h.client.createRoom({ hostUserName: "Alice", prepare: {} }))).to.be.instanceOf(
      E.BadRequestError,
    );
    expect(h.client.getState().phase).to.equal("idle");
    await h.client.createRoom({ hostUserName: "Alice", prepare: {} });
    expect(h.rtc.pcs.length, "one connection").to.equal(1);
    expect(h.rtc.pcs[0]!.channels.length, "its channels made once").to.equal(1);
    expect(h.rtc.pcs[0]!.offers.length).to.equal(2);
    expect(reg.offer!.sdp).to.equal(watches(mf)[0]!.body.offer.sdp);
    h.client.close();

    const mf2 = new MockFetch();
    const reg2 = new FakeRegistry(mf2, "fast");
    const big = harness({ mf: mf2, rtc: { sdpSize: 21 * 1024 } });
    expect(await swallow(big.client.createRoom({ hostUserName: "Alice", prepare: {} }))).to.be.instanceOf(
      E.SdpTooLargeError,
    );
    // The create went while the offer was made; the room it made is closed, no offer sent.
    expect(mf2.calls.map((c) => c.route)).to.deep.equal(["/rooms", "/rooms/:code/close"]);
    expect(reg2.status).to.equal("closed");
    expect(reg2.offer).to.equal(null);
    expect(big.client.getState().phase).to.equal("error");
    expect(big.rtc.pcs[0]!.closed).to.equal(true);
  });

  it("a server without `fast`: the first request falls back to the preflighted form once; the rest never tries", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    const timers = new MockTimers();
    const h = harness({ mf, timers });
    await h.client.createRoom({ hostUserName: "Alice", prepare: {} });
    expect(mf.calls.map((c) => c.headers["content-type"])).to.deep.equal([
      "text/plain;charset=UTF-8",
      "application/json",
    ]);
    expect(reg.offer, "an offer in a create is an unknown field there").to.equal(null);
    void swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/offer")[0]!.headers["x-registry-version"]).to.equal("1");
    expect(mf.callsTo("GET /rooms/:code").length).to.be.at.least(1);
    expect(watches(mf).length).to.equal(0);
    h.client.close();
    await timers.advance(0);
  });

  it("a 403 from a server with `fast` is the real answer (no second try)", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "fast");
    mf.script("POST /rooms", err("forbidden", 403));
    const h = harness({ mf });
    expect(await swallow(h.client.createRoom({ hostUserName: "Alice" }))).to.be.instanceOf(E.ForbiddenError);
    expect(mf.calls.length).to.equal(1);
  });

  it("a configured CSRF header keeps every request in the preflighted form", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const h = harness({ mf, options: { csrfHeaderName: "X-Registry-Version", csrfHeaderValue: "2" } });
    await swallow(h.client.createRoom({ hostUserName: "Alice" }));
    const h2 = harness({ mf, options: { csrfHeaderName: "X-Other" } });
    await swallow(h2.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" }));
    for (const c of mf.calls) expect(c.headers["content-type"]).to.equal("application/json");
  });

  it("a retried answer whose first post landed is found by one read of the room", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    mf.on("POST /rooms/:code/answer", (call) => {
      if (reg.answer) return err("already_paired", 409);
      reg.answer = { type: "answer", sdp: call.body.sdp };
      reg.status = "paired";
      return err("unavailable", 503);
    });
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(1000);
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(2);
    // The first read (nothing known yet: no join in this test) and the one check after the 409.
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(2);
    expect(h.client.getState().phase).to.equal("draining_ice");
    h.client.close();
  });

  it("ICE restart on the fast path: the host's new offer, the guest's version watch, answered again", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    const host = harness({ mf, timers, seed: 1 });
    const guest = harness({ mf, timers, seed: 2 });
    const created = await host.client.createRoom({ hostUserName: "Alice", prepare: {} });
    const hostDone = host.client.connect({ role: "host", code: created.code, accessToken: created.ownerToken });
    const joined = await guest.client.joinRoom({
      code: created.code,
      joinCode: created.joinCode,
      guestUserName: "Bob",
    });
    const guestDone = guest.client.connect({ role: "guest", code: created.code, accessToken: joined.guestToken });
    await timers.advance(0);
    const hpc = host.rtc.pcs[0]!;
    const gpc = guest.rtc.pcs[0]!;
    linkPeers(hpc, gpc);
    await hostDone;
    await guestDone;
    gpc.setConnectionState("disconnected");
    hpc.setConnectionState("disconnected");
    await timers.advance(0);
    // The guest's offer watch (from its answer on): a first read without a cursor (answers at
    // once), then a long-poll on the version.
    const gw = watches(mf).filter(isOfferWatch).slice(0, 2).map(said);
    expect(gw[0]).to.deep.equal({ wait: 25 });
    expect(gw[1]).to.deep.include({ wait: 25 });
    expect(typeof gw[1]!.version).to.equal("number");
    await timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(reg.restarts).to.equal(1);
    expect(mf.callsTo("POST /rooms/:code/offer").at(-1)!.body).to.deep.include({ restart: true });
    await timers.advance(0);
    expect(gpc.remoteDescription!.sdp).to.equal(reg.offer!.sdp);
    expect(hpc.remoteDescription!.sdp).to.equal(reg.answer!.sdp);
    hpc.setConnectionState("connected");
    gpc.setConnectionState("connected");
    await timers.advance(0);
    expect(host.client.getState().phase).to.equal("open");
    expect(guest.client.getState().phase).to.equal("open");
    expectSimple(mf.calls);
    host.client.close();
    await timers.advance(0);
  });
  it("a watch answered with a room without a version, then a closed room (a server that does not 410): reads on, then closes", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    const h = harness({ mf, timers });
    const j = await h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob" });
    const { version: _v, ...noVersion } = reg.snapshot();
    mf.script(
      "POST /rooms/:code/watch",
      { status: 200, body: { room: noVersion } },
      { status: 200, body: { room: { ...noVersion, status: "closed" } } },
    );
    const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: j.guestToken }));
    await timers.advance(0);
    expect(watches(mf).map((c) => said(c).for)).to.deep.equal(["offer", "offer"]);
    expect(await done).to.be.instanceOf(E.ClosedError);
    expect(h.closes).to.deep.equal(["closed"]);
  });
  it("guest: joinRoom with prepare makes the connection while the join travels; connect() uses it (negotiated channels made there too)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const timers = new MockTimers();
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    const h = harness({ mf, timers });
    const joining = h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob", prepare: {} });
    expect(h.rtc.pcs.length, "made before the join's answer").to.equal(1);
    expect(h.rtc.pcs[0]!.channels.length, "a guest makes no channel").to.equal(0);
    const j = await joining;
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: j.guestToken }));
    await timers.advance(0);
    expect(h.rtc.pcs.length).to.equal(1);
    expect(h.rtc.pcs[0]!.remoteDescription!.sdp).to.equal(reg.offer.sdp);
    expect(h.named("onPeerConnection").length).to.equal(1);
    h.client.close();

    const n = harness({ mf: new MockFetch(), timers });
    new FakeRegistry(n.mf, "fast");
    await swallow(
      n.client.joinRoom({
        code: reg.code,
        joinCode: reg.joinCode,
        guestUserName: "Bob",
        prepare: { dataChannel: { negotiated: true } },
      }),
    );
    expect(n.rtc.pcs[0]!.channels.map((d) => [d.label, d.negotiated])).to.deep.equal([["data", true]]);
    n.client.close();
    await timers.advance(0);
  });
  /** A client whose browser refuses to make a connection; `callsAtCreate`: requests sent by then. */
  function refusing() {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    const refused = new Error("refused");
    const seen = { callsAtCreate: -1 };
    const h = harness({
      mf,
      options: {
        createPeerConnection: () => {
          seen.callsAtCreate = mf.calls.length;
          throw refused;
        },
      },
    });
    const endedWith = (got: unknown) => {
      expect(got).to.equal(refused);
      expect(h.client.getState().phase).to.equal("error");
      expect(h.closes.length).to.equal(1);
    };
    return { mf, reg, h, seen, endedWith };
  }

  it("guest: the join leaves before the connection is made; a connection the browser refuses ends the session", async () => {
    const { reg, h, seen, endedWith } = refusing();
    const got = await swallow(
      h.client.joinRoom({ code: reg.code, joinCode: reg.joinCode, guestUserName: "Bob", prepare: {} }),
    );
    expect(seen.callsAtCreate, "the join was already sent").to.equal(1);
    endedWith(got);
  });

  it("host: createRoom with prepare makes the connection first; one the browser refuses ends the session before any request", async () => {
    const { mf, h, seen, endedWith } = refusing();
    const got = await swallow(h.client.createRoom({ hostUserName: "Alice", prepare: {} }));
    expect(seen.callsAtCreate, "before the create").to.equal(0);
    expect(mf.calls.length).to.equal(0);
    endedWith(got);
  });
});
