import { expect } from "@open-wc/testing";
import { FakeRegistry, MockFetch, MockTimers, harness, linkPeers } from "./fixtures/index.ts";

const C = (n: number) => `candidate:${n} 1 udp 2122260223 192.168.1.${n} 5${n}00 typ host generation 0`;

async function handshake(features: "all" | "none") {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  const timers = new MockTimers();
  const host = harness({ mf, timers, seed: 1 });
  const guest = harness({ mf, timers, seed: 2 });
  const created = await host.client.createRoom({ hostUserName: "Alice" });
  expect(host.client.getState().phase).to.equal("waiting_guest");
  const hostDone = host.client.connect({
    role: "host",
    code: created.code,
    accessToken: created.ownerToken,
    unreliable: true,
  });
  await timers.advance(0);
  const hpc = host.rtc.pcs[0]!;
  hpc.emitCandidate(C(1));
  hpc.emitCandidate(C(2));
  hpc.emitCandidate(C(1)); // duplicate: published once
  await timers.advance(0);
  const joined = await guest.client.joinRoom({
    code: created.code.toLowerCase(),
    joinCode: "jq2m-7k4p",
    guestUserName: "Bob",
  });
  expect(guest.client.getState().phase).to.equal("idle");
  const guestDone = guest.client.connect({
    role: "guest",
    code: created.code,
    accessToken: joined.guestToken,
    unreliable: true,
  });
  await timers.advance(1000);
  const gpc = guest.rtc.pcs[0]!;
  gpc.emitCandidate(C(3));
  gpc.emitCandidate(C(4)); // while C(3) is in flight: goes next, with the end mark (batch)
  gpc.emitCandidate(null);
  hpc.emitCandidate(null);
  await timers.advance(3000);
  return { mf, reg, timers, host, guest, hpc, gpc, hostDone, guestDone };
}

for (const features of ["all", "none"] as const) {
  describe(`happy path (${features === "all" ? "fast path" : "MVP"})`, () => {
    it("create → join → offer/answer → ICE → open → messages → close", async () => {
      const { mf, reg, timers, host, guest, hpc, gpc, hostDone, guestDone } = await handshake(features);
      expect(host.client.getState().phase).to.equal("draining_ice");
      expect(guest.client.getState().phase).to.equal("draining_ice");
      expect(reg.cands.host.map((s) => s.c.candidate)).to.deep.equal([C(1), C(2)]);
      expect(hpc.added.map((c) => c?.candidate)).to.include(C(3));
      expect(gpc.added.map((c) => c?.candidate)).to.include.members([C(1), C(2)]);
      expect(host.named("onCandidateLocal").length).to.equal(2);
      expect(guest.named("onCandidateRemote").length).to.equal(2);
      if (features === "all") {
        expect(mf.calls.some((c) => c.route === "/rooms/:code/watch" && c.body.wait > 0)).to.equal(true);
        // The guest's end mark rode with its candidate C(4); the host's came alone later: not posted
        // (the guest's drain is a held /watch either way).
        expect([reg.ended.host, reg.ended.guest]).to.deep.equal([false, true]);
        expect(hpc.added).to.include(undefined); // end-of-candidates applied
      } else {
        expect(mf.calls.some((c) => c.query.has("wait") || c.query.has("since"))).to.equal(false);
        expect(mf.calls.some((c) => c.body && ("items" in c.body || "end" in c.body))).to.equal(false);
      }
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
      const hdc = hpc.channels;
      const gControl = gpc.channels.find((d) => d.label === "registry-peer-control")!;
      // The app's two channels, then the control channel both sides pre-negotiate as the remote
      // description is set (session.ts makeControl).
      expect(hdc.map((d) => [d.label, d.ordered, d.maxRetransmits])).to.deep.equal([
        ["data", true, null],
        ["unreliable", false, 0],
        ["registry-peer-control", false, 0],
      ]);
      expect([hdc[2]!.negotiated, hdc[2]!.id, gControl.negotiated, gControl.id]).to.deep.equal([
        true,
        1001,
        true,
        1001,
      ]);
      // The app's channels deliver ArrayBuffers (the control channel carries only strings).
      expect(hdc.slice(0, 2).every((d) => d.binaryType === "arraybuffer")).to.equal(true);
      const gApp = gpc.channels.filter((d) => d !== gControl);
      expect(gApp.length).to.equal(2);
      expect(gApp.every((d) => d.binaryType === "arraybuffer")).to.equal(true);
      expect(host.client.send("hello")).to.equal(true);
      expect(host.client.send(new Uint8Array([1, 2, 3]), { reliable: false })).to.equal(true);
      await timers.advance(0);
      expect(guest.named("onMessage")).to.deep.equal([
        ["hello", { reliable: true }],
        [new Uint8Array([1, 2, 3]), { reliable: false }],
      ]);
      // drain stops after open, after the grace
      await timers.advance(10_000);
      const drains = mf.callsTo("GET /rooms/:code/candidates").length;
      await timers.advance(10_000);
      expect(mf.callsTo("GET /rooms/:code/candidates").length).to.equal(drains);
      host.client.close("bye");
      await timers.advance(0);
      expect(reg.status).to.equal("closed");
      expect(reg.closeReasons[0]).to.equal("bye"); // the guest, seeing the peer leave, also posts (idempotent)
      expect(host.closes).to.deep.equal(["bye"]);
      expect(guest.closes).to.deep.equal(["peer_closed"]);
      expect(host.client.getState().phase).to.equal("closed");
      expect(guest.client.getState().phase).to.equal("closed");
      expect(timers.pending).to.equal(0);
      expect(hpc.totalListeners()).to.equal(0);
      expect(gpc.totalListeners()).to.equal(0);
      expect(mf.pendingCount).to.equal(0);
    });
  });
}
