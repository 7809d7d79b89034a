import { expect } from "@open-wc/testing";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import { FakeRegistry, MockFetch, harness, type MockPeerConnection, type FakeRegistry as Reg } from "./fixtures/index.ts";

const C = (n: number) => `candidate:${n} 1 udp 2122260223 10.1.1.${n} ${6000 + n} typ host`;
const swallow = (p: Promise<unknown>) => p.catch((e: unknown) => e);

function setAnswer(reg: Reg, sdp: string) {
  reg.answer = { type: "answer", sdp };
  reg.status = "paired";
  reg.version++;
  reg.wake();
}

async function openHost(features = "all", options?: { disconnectGraceMs: number }) {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  const h = harness(options ? { mf, options } : { mf });
  const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
  await h.timers.advance(0);
  const pc = h.rtc.pcs[0]!;
  setAnswer(reg, "v=0\r\nanswer1");
  await h.timers.advance(0);
  pc.setConnectionState("connected");
  pc.channels[0]!.open();
  await done;
  expect(h.client.getState().phase).to.equal("open");
  return { mf, reg, h, pc };
}

async function openGuest(features = "all") {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  reg.status = "joined";
  reg.offer = { type: "offer", sdp: "v=0\r\noffer1" };
  const h = harness({ mf });
  const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
  await h.timers.advance(0);
  const pc = h.rtc.pcs[0]!;
  const dc = pc.announceChannel("data");
  pc.setConnectionState("connected");
  dc.open();
  await done;
  return { mf, reg, h, pc, dc };
}

function newOffer(reg: Reg, sdp: string) {
  reg.offer = { type: "offer", sdp };
  reg.answer = null;
  reg.status = "joined";
  reg.version++;
  reg.wake();
}

describe("ICE restart (registry-api §8 restart)", () => {
  it("host: after the disconnect grace, a restart offer; channels stay usable; open again without a second onOpen", async () => {
    const { mf, reg, h, pc } = await openHost();
    reg.addCandidate("guest", C(1));
    await h.timers.advance(3000);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(1)]);
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(pc.offers.at(-1)).to.deep.equal({ iceRestart: true });
    const offers = mf.callsTo("POST /rooms/:code/offer");
    expect(offers.length).to.equal(2);
    expect(offers[1]!.body.restart).to.equal(true);
    expect(reg.restarts).to.equal(1);
    expect(h.client.getState().phase).to.equal("polling_room");
    expect(h.client.send("during restart")).to.equal(true);
    // new candidates on both sides; the same guest candidate again counts as new (sets were reset)
    pc.emitCandidate(C(9));
    reg.addCandidate("guest", C(1));
    setAnswer(reg, "v=0\r\nanswer2");
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\nanswer2");
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(1), C(1)]);
    expect(reg.cands.host.map((s) => s.c.candidate)).to.deep.equal([C(9)]);
    pc.setConnectionState("connected");
    expect(h.client.getState().phase).to.equal("open");
    expect(h.named("onOpen").length).to.equal(1);
    expect(h.closes).to.deep.equal([]);
    h.client.close();
    expect(h.timers.pending).to.equal(0);
  });

  it("host: recovers by itself within the grace → no restart", async () => {
    const { mf, h, pc } = await openHost();
    pc.setConnectionState("disconnected");
    await h.timers.advance(1000);
    pc.setConnectionState("connected");
    await h.timers.advance(20_000);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    expect(h.client.getState().phase).to.equal("open");
    h.client.close();
  });

  it("host: gives up after maxRestarts, or when disconnected again mid-restart", async () => {
    const a = await openHost();
    for (let i = 0; i < CLIENT_DEFAULTS.maxRestarts; i++) {
      a.pc.setConnectionState("disconnected");
      await a.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
      setAnswer(a.reg, `v=0\r\nanswer-r${i}`);
      await a.h.timers.advance(0);
      a.pc.setConnectionState("connected");
    }
    expect(a.reg.restarts).to.equal(CLIENT_DEFAULTS.maxRestarts);
    a.pc.setConnectionState("disconnected");
    await a.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(a.h.closes).to.deep.equal(["disconnected"]);

    const b = await openHost();
    b.pc.setConnectionState("disconnected");
    await b.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(b.h.client.getState().phase).to.equal("polling_room");
    b.pc.setConnectionState("connecting");
    b.pc.setConnectionState("disconnected");
    // the restart's own bound (started with the restart) ends it
    await b.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(b.h.closes).to.deep.equal(["restart_timeout"]);
    expect(b.h.timers.pending).to.equal(0);
  });

  it("host: a restart that brings nothing back within disconnectGraceMs closes with restart_timeout (crashed peer)", async () => {
    // no answer at all (the guest is gone)
    const a = await openHost();
    a.pc.setConnectionState("disconnected");
    await a.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(a.reg.restarts).to.equal(1);
    await a.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs - 1);
    expect(a.h.closes).to.deep.equal([]);
    await a.h.timers.advance(1);
    expect(a.h.closes).to.deep.equal(["restart_timeout"]);
    expect(a.mf.callsTo("POST /rooms/:code/close").map((c) => c.body)).to.deep.equal([{ reason: "restart_timeout" }]);
    expect(a.h.timers.pending).to.equal(0);
    expect(a.h.client.getState().phase).to.equal("closed");

    // answered, but ICE never connects; the bound follows disconnectGraceMs
    const { reg, h, pc } = await openHost("all", { disconnectGraceMs: 2000 });
    pc.setConnectionState("disconnected");
    await h.timers.advance(2000);
    setAnswer(reg, "v=0\r\nanswer2");
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\nanswer2");
    pc.setConnectionState("connecting");
    await h.timers.advance(2000);
    expect(h.closes).to.deep.equal(["restart_timeout"]);
    expect(h.timers.pending).to.equal(0);
  });

  it("no restart when the server does not advertise it: the grace ends the session", async () => {
    const { mf, h, pc } = await openHost("longpoll, delta, batch, end");
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    expect(h.closes).to.deep.equal(["disconnected"]);
  });

  it("guest: while disconnected, watches the room; answers the restart offer; open again", async () => {
    const { mf, reg, h, pc } = await openGuest();
    const reads = mf.callsTo("GET /rooms/:code").length;
    pc.setConnectionState("disconnected");
    await h.timers.advance(0);
    expect(mf.callsTo("GET /rooms/:code").length).to.be.greaterThan(reads);
    newOffer(reg, "v=0\r\noffer2");
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\noffer2");
    expect(reg.answer).to.not.equal(null);
    expect(reg.status).to.equal("paired");
    expect(h.client.getState().phase).to.equal("draining_ice");
    pc.setConnectionState("connected");
    expect(h.client.getState().phase).to.equal("open");
    await h.timers.advance(60_000);
    expect(h.closes).to.deep.equal([]);
    h.client.close();
    await h.timers.advance(0);
    expect(h.timers.pending).to.equal(0);
    expect(mf.pendingCount).to.equal(0);
  });

  it("guest: recovering by itself stops the watch; no offer in time ends the session; a closed room ends it", async () => {
    const a = await openGuest();
    await a.h.timers.advance(10_000); // drain finished after open
    a.pc.setConnectionState("disconnected");
    await a.h.timers.advance(0);
    a.pc.setConnectionState("connected");
    await a.h.timers.advance(0);
    expect(a.mf.pendingCount).to.equal(0);
    expect(a.h.timers.pending).to.equal(0);
    expect(a.h.client.getState().phase).to.equal("open");

    const b = await openGuest();
    b.pc.setConnectionState("disconnected");
    await b.h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(b.h.closes).to.deep.equal([]);
    await b.h.timers.advance(CLIENT_DEFAULTS.restartWaitMs);
    expect(b.h.closes).to.deep.equal(["disconnected"]);
    expect(b.mf.pendingCount).to.equal(0);

    const c = await openGuest();
    c.pc.setConnectionState("disconnected");
    await c.h.timers.advance(0);
    c.reg.close();
    await c.h.timers.advance(0);
    expect(c.h.closes).to.deep.equal(["closed"]);
  });
});
