/**
 * <registry-peer>'s side of issue #14: `reconnecting` / `reconnected` events and the status line
 * while a connection is recovered, the close reason in words, `stats` events and getStats().
 * Real WebRTC between two elements in this page; the host's ICE trouble is simulated by a
 * connection whose reported state the test sets.
 */
import { expect, fixture, html } from "@open-wc/testing";
import type { RegistryPeer } from "../../src/element/index.ts";
import "../../src/element/index.ts";
import { DEFAULT_STRINGS } from "../../src/element/strings.ts";
import { FakeRegistry, MockFetch, mockFactory } from "../client/fixtures/index.ts";
import { FAST, nextEvent, registryUrl, statusText, untilPhase } from "./helpers.ts";

/** An RTCPeerConnection whose connectionState the test can override. */
class Steerable extends RTCPeerConnection {
  fake: RTCPeerConnectionState | undefined;
  override get connectionState(): RTCPeerConnectionState {
    return this.fake ?? super.connectionState;
  }
  steer(s: RTCPeerConnectionState | undefined): void {
    this.fake = s;
    this.dispatchEvent(new Event("connectionstatechange"));
  }
}

async function steeredPair(statsInterval?: number) {
  const url = await registryUrl();
  const pcs: Steerable[] = [];
  const host = await fixture<RegistryPeer>(html`<registry-peer base-url=${url} role="host" user-name="Alice" unreliable
    stats-interval=${statsInterval ?? 2000}
    .clientOptions=${{
      ...FAST,
      createPeerConnection: (c: RTCConfiguration) => {
        const pc = new Steerable(c);
        pcs.push(pc);
        return pc;
      },
    }}></registry-peer>`);
  const created = nextEvent<{ code: string; joinCode: string }>(host, "room-created");
  const hostOpen = nextEvent(host, "peer-open", 20_000);
  host.autoConnect = true;
  const { code, joinCode } = await created;
  const guest = await fixture<RegistryPeer>(
    html`<registry-peer base-url=${url} role="guest" user-name="Bob" code=${code} join-code=${joinCode} no-ui .clientOptions=${FAST}></registry-peer>`,
  );
  const guestOpen = nextEvent(guest, "peer-open", 20_000);
  guest.autoConnect = true;
  await Promise.all([hostOpen, guestOpen]);
  return { host, guest, pc: pcs[0]! };
}

describe("<registry-peer> recovery and quality (issue #14)", () => {
  it("reconnecting {reason} shows in the status line; reconnected brings back 'Connected to …'", async () => {
    const { host, guest, pc } = await steeredPair();
    const rec: string[] = [];
    host.addEventListener("reconnecting", (e) => rec.push(`reconnecting ${e.detail.reason}`));
    host.addEventListener("reconnected", (e) => rec.push(`reconnected ${typeof e.detail.afterMs}`));
    pc.steer("disconnected");
    await host.updateComplete;
    expect(statusText(host)).to.equal("Connection interrupted. Reconnecting…");
    expect(host.send("still buffered")).to.equal(true);
    pc.steer("connected");
    await host.updateComplete;
    expect(rec).to.deep.equal(["reconnecting disconnected", "reconnected number"]);
    expect(statusText(host)).to.equal("Connected to Bob.");
    guest.close("left");
    host.close("left");
  });

  it("stats-interval: `stats` events with RTT, channels, route and quality; getStats() null when idle", async () => {
    const { host, guest } = await steeredPair(200);
    const st = await nextEvent<{
      rttMs: number | null;
      reliable: { label: string; messagesSent: number } | null;
      route: { relayed: boolean } | null;
      quality: string;
    }>(host, "stats", 5000);
    expect(st.reliable?.label).to.equal("data");
    expect(["excellent", "good", "fair", "poor"]).to.include(st.quality);
    host.send("x");
    await new Promise((r) => setTimeout(r, 300));
    const now = await host.getStats();
    expect(now!.reliable!.messagesSent).to.be.at.least(1);
    expect(now!.route?.relayed).to.equal(false);
    host.close("left");
    guest.close("left");
    expect(await host.getStats()).to.equal(null);
    const idle = document.createElement("registry-peer");
    expect(await idle.getStats()).to.equal(null);
  });

  it("a peer that left says so in the status line", async () => {
    const { host, guest } = await steeredPair();
    const closed = nextEvent(host, "peer-close", 10_000);
    guest.close("bye");
    expect(await closed).to.deep.equal({ reason: "peer_closed" });
    await untilPhase(host, "closed");
    await host.updateComplete;
    expect(statusText(host)).to.equal("The other player left.");
  });
});

describe("<registry-peer> a connection lost before it opened", () => {
  it("ICE disconnected for the grace before the channel opened: the status line says the connection was lost", async () => {
    // Mocked Registry and connection (the client's fixtures): ICE connects, then drops before
    // the channel opens, which a real pair in one page cannot be made to do.
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    const rtc = mockFactory();
    const el = await fixture<RegistryPeer>(html`<registry-peer base-url=${mf.base} role="guest" user-name="Bob"
      code=${reg.code} join-code=${reg.joinCode}
      .clientOptions=${{
        ...FAST,
        fetchImpl: mf.fetchImpl,
        createPeerConnection: rtc.create,
        rtcConfiguration: { iceServers: [] },
        disconnectGraceMs: 50,
      }}></registry-peer>`);
    const closed = nextEvent(el, "peer-close", 10_000);
    el.autoConnect = true;
    await untilPhase(el, "draining_ice");
    const pc = rtc.pcs[0]!;
    pc.setConnectionState("connected");
    pc.setConnectionState("disconnected");
    expect(await closed).to.deep.equal({ reason: "disconnected" });
    await el.updateComplete;
    expect(statusText(el)).to.equal(DEFAULT_STRINGS.connectionLost);
  });
});
