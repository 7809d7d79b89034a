import { expect } from "@open-wc/testing";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import { HEARTBEAT } from "../../src/client/heartbeat.ts";
import { restartCooldown } from "../../src/client/recovery.ts";
import {
  FakeRegistry,
  MockFetch,
  err,
  harness,
  openGuest as openGuestWith,
  type FakeRegistry as Reg,
} from "./fixtures/index.ts";

const C = (n: number) => `candidate:${n} 1 udp 2122260223 10.1.1.${n} ${6000 + n} typ host`;
const swallow = (p: Promise<unknown>) => p.catch((e: unknown) => e);

function setAnswer(reg: Reg, sdp: string) {
  reg.answer = { type: "answer", sdp };
  reg.status = "paired";
  reg.version++;
  reg.wake();
}

async function openHost(features = "all", options?: Record<string, unknown>) {
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

/** A guest open through a FakeRegistry holding the first offer ("offer1"). */
function openGuest(features = "all", options?: Record<string, unknown>) {
  return openGuestWith({ features, options, sdp: "v=0\r\noffer1" });
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
    await h.timers.advance(20); // (fast) a generation's first post waits 20 ms for the rest of its burst
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

  it("host: a silent peer alone (ICE still connected) starts no restart; ICE disconnected then does", async () => {
    const { mf, h, pc } = await openHost();
    const ctl = pc.channels.find((c) => c.label === HEARTBEAT.label)!;
    ctl.open();
    ctl.dispatchEvent(new MessageEvent("message", { data: JSON.stringify({ hb: 1, u: 0 }) }));
    await h.timers.advance(HEARTBEAT.silenceMs + HEARTBEAT.intervalMs + 5000);
    expect(h.named("onReconnecting")).to.deep.equal([[{ reason: "peer_unresponsive" }]]);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    pc.setConnectionState("disconnected");
    pc.setConnectionState("disconnected"); // the grace is not started twice
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(mf.callsTo("POST /rooms/:code/offer").map((c) => c.body.restart ?? false)).to.deep.equal([false, true]);
    h.client.close();
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

  it("host: restarts at most maxRestarts times per recovery, with a doubling cooldown; the window ends it", async () => {
    const { reg, h, pc } = await openHost();
    pc.setConnectionState("disconnected");
    const t0 = h.timers.now;
    const at: number[] = [];
    for (let i = 0; i < CLIENT_DEFAULTS.maxRestarts; i++) {
      await h.timers.advance(i === 0 ? CLIENT_DEFAULTS.disconnectGraceMs : restartCooldown(i));
      at.push(h.timers.now - t0);
      expect(reg.restarts).to.equal(i + 1);
      setAnswer(reg, `v=0\r\nanswer-r${i}`);
      await h.timers.advance(0);
      pc.setConnectionState("connecting");
    }
    expect(at).to.deep.equal([2000, 5000, 11_000]);
    await h.timers.advance(restartCooldown(3) + 1000);
    expect(reg.restarts).to.equal(CLIENT_DEFAULTS.maxRestarts); // budget spent: no fourth
    expect(h.closes).to.deep.equal([]);
    await h.timers.advance(CLIENT_DEFAULTS.reconnectWindowMs - (h.timers.now - t0));
    expect(h.closes).to.deep.equal(["peer_unresponsive"]);
    expect(h.named("onReconnecting")).to.deep.equal([[{ reason: "disconnected" }]]);
    expect(h.named("onReconnected")).to.deep.equal([]);
    expect(h.timers.pending).to.equal(0);
  });

  it("host: a recovery that succeeds restores the budget; failed restarts at once; the restart completes after ICE came back", async () => {
    const { reg, h, pc } = await openHost();
    pc.setConnectionState("failed");
    await h.timers.advance(0);
    expect(h.named("onReconnecting")).to.deep.equal([[{ reason: "failed" }]]);
    expect(reg.restarts).to.equal(1); // no grace on failed
    pc.setConnectionState("failed"); // one restart at a time
    await h.timers.advance(0);
    expect(reg.restarts).to.equal(1);
    // ICE came back on its own before the answer: reconnected now; the phase opens when the answer lands.
    pc.setConnectionState("connected");
    expect(h.named("onReconnected").length).to.equal(1);
    expect(h.client.getState().phase).to.equal("polling_room");
    setAnswer(reg, "v=0\r\nanswer2");
    await h.timers.advance(0);
    expect(h.client.getState().phase).to.equal("open");
    for (let i = 0; i < 2; i++) {
      pc.setConnectionState("disconnected");
      await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
      setAnswer(reg, `v=0\r\nanswer-x${i}`);
      await h.timers.advance(0);
      pc.setConnectionState("connected");
    }
    expect(reg.restarts).to.equal(3);
    expect(h.named("onReconnected").length).to.equal(3);
    expect(h.closes).to.deep.equal([]);
    h.client.close();
  });

  it("host: a failed restart request ends the session (too_many_restarts from the server)", async () => {
    const { mf, h, pc } = await openHost();
    mf.script("POST /rooms/:code/offer", err("too_many_restarts", 409));
    pc.setConnectionState("failed");
    await h.timers.advance(0);
    expect(h.closes).to.deep.equal(["too_many_restarts"]);
  });

  it("offline: no attempt (and no budget spent) until online, which starts one at once; listeners removed on close", async () => {
    let online = false;
    let listeners = 0;
    let notify: (on: boolean) => void = () => {};
    const network = {
      online: () => online,
      listen: (f: (on: boolean) => void) => {
        listeners++;
        notify = f;
        return () => {
          listeners--;
        };
      },
    };
    const { reg, h, pc } = await openHost("all", { network } as never);
    expect(listeners).to.equal(1);
    pc.setConnectionState("disconnected");
    await h.timers.advance(30_000);
    expect(reg.restarts).to.equal(0);
    online = true;
    notify(true);
    await h.timers.advance(0);
    expect(reg.restarts).to.equal(1);
    notify(false);
    notify(true); // a restart is out: nothing new
    await h.timers.advance(0);
    expect(reg.restarts).to.equal(1);
    h.client.close();
    expect(listeners).to.equal(0);
  });

  it("online while healthy only ends backoff waits; going offline alone starts nothing", async () => {
    let notify: (on: boolean) => void = () => {};
    const network = {
      online: () => true,
      listen: (f: (on: boolean) => void) => {
        notify = f;
        return () => {};
      },
    };
    const { mf, h } = await openHost("all", { network } as never);
    notify(false);
    notify(true);
    await h.timers.advance(0);
    expect(h.named("onReconnecting")).to.deep.equal([]);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    h.client.close();
  });

  it("no restart when the server does not advertise it: ICE may come back by itself until the window", async () => {
    const { mf, h, pc } = await openHost("batch, end, fast", { reconnectWindowMs: 10_000 });
    await h.timers.advance(10_000); // the drain ended: no request during the trouble
    pc.setConnectionState("disconnected");
    await h.timers.advance(9999);
    expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
    expect(h.closes).to.deep.equal([]);
    await h.timers.advance(1);
    // No sign that the Registry (so our network) worked meanwhile: the connection was lost.
    expect(h.closes).to.deep.equal(["connection_lost"]);
  });

  it("before open: disconnected gets the grace (then ends), failed ends at once", async () => {
    for (const [state, why, wait] of [
      ["disconnected", "disconnected", CLIENT_DEFAULTS.disconnectGraceMs],
      ["failed", "connection_failed", 0],
    ] as const) {
      const mf = new MockFetch();
      const reg = new FakeRegistry(mf, "all");
      const h = harness({ mf });
      void swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
      await h.timers.advance(0);
      const pc = h.rtc.pcs[0]!;
      setAnswer(reg, "v=0\r\nanswer1");
      await h.timers.advance(0);
      pc.setConnectionState("connected");
      pc.setConnectionState(state);
      pc.setConnectionState(state);
      await h.timers.advance(wait);
      expect(h.closes).to.deep.equal([why]);
      // Never open: the room stays for a "Try again" (no /close), after the grace and after ICE
      // failed alike (connectivity's ConnectionFailedError; the other player's own bound says it).
      expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(0);
    }
    // recovering within the grace before open
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    pc.setConnectionState("disconnected");
    await h.timers.advance(1000);
    pc.setConnectionState("connected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    expect(h.closes).to.deep.equal([]);
    h.client.close();
  });

  it("guest: watches the room for newer offers from its answer on; answers a restart offer; open again", async () => {
    const { mf, reg, h, pc } = await openGuest();
    expect(reg.held).to.be.greaterThan(0);
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs);
    newOffer(reg, "v=0\r\noffer2");
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\noffer2");
    expect(reg.answer).to.not.equal(null);
    expect(reg.status).to.equal("paired");
    expect(h.client.getState().phase).to.equal("draining_ice");
    pc.setConnectionState("connected");
    expect(h.client.getState().phase).to.equal("open");
    // A newer offer while healthy (the host restarted first) is answered too; ICE stays "connected": open at once.
    newOffer(reg, "v=0\r\noffer3");
    await h.timers.advance(0);
    expect(pc.remoteDescription?.sdp).to.equal("v=0\r\noffer3");
    expect(h.client.getState().phase).to.equal("open");
    await h.timers.advance(60_000);
    expect(h.closes).to.deep.equal([]);
    h.client.close();
    await h.timers.advance(0);
    expect(h.timers.pending).to.equal(0);
    expect(mf.pendingCount).to.equal(0);
  });

  it("guest without long-poll: the watch runs only while recovering", async () => {
    const { mf, h, pc } = await openGuest("restart");
    await h.timers.advance(10_000); // the drain stopped after open
    const reads = mf.callsTo("GET /rooms/:code").length;
    await h.timers.advance(5000);
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(reads);
    pc.setConnectionState("disconnected");
    await h.timers.advance(3000);
    expect(mf.callsTo("GET /rooms/:code").length).to.be.greaterThan(reads);
    pc.setConnectionState("connected");
    await h.timers.advance(0);
    const after = mf.callsTo("GET /rooms/:code").length;
    await h.timers.advance(5000);
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(after);
    h.client.close();
  });

  it("guest: no offer in time ends the session at the window; a closed room ends it", async () => {
    const b = await openGuest();
    b.pc.setConnectionState("disconnected");
    await b.h.timers.advance(CLIENT_DEFAULTS.reconnectWindowMs - 1);
    expect(b.h.closes).to.deep.equal([]);
    await b.h.timers.advance(1);
    expect(b.h.closes).to.deep.equal(["peer_unresponsive"]);
    expect(b.mf.pendingCount).to.equal(0);

    const c = await openGuest();
    c.pc.setConnectionState("disconnected");
    await c.h.timers.advance(0);
    c.reg.close();
    await c.h.timers.advance(0);
    expect(c.h.closes).to.deep.equal(["closed"]);
  });
});
