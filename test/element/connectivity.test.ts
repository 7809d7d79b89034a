/**
 * <registry-peer> and connectivity (issue #10), real WebRTC in this page against a real Node
 * Registry (no STUN/TURN: this machine only): the route on peer-open and `route`; relay-only
 * without a relay, and a relay that cannot be reached, end in exactly one peer-error
 * `connection_failed` on BOTH players, in plain words, then peer-close.
 */
import { expect, fixture, html, waitUntil } from "@open-wc/testing";
import type { PeerErrorDetail, PeerOpenDetail, RegistryPeer } from "../../src/element/index.ts";
import { browserDefaults } from "../../src/client/browser.ts";
import { RegistryClient } from "../../src/client/client.ts";
import { CONNECT_FAILURE_MESSAGES } from "../../src/client/ice-config.ts";
import { FAST, nextEvent, pair, record, registryUrl } from "./helpers.ts";

/** A host and a guest element with the given extra attributes/properties; the guest joins once the room exists. */
async function players(setup: (el: RegistryPeer) => void) {
  const url = await registryUrl();
  const host = await fixture<RegistryPeer>(
    html`<registry-peer base-url=${url} role="host" user-name="Alice" no-ui .clientOptions=${FAST}></registry-peer>`,
  );
  setup(host);
  const hostRec = record(host);
  const created = nextEvent<{ code: string; joinCode: string }>(host, "room-created");
  host.autoConnect = true;
  const { code, joinCode } = await created;
  const guest = await fixture<RegistryPeer>(
    html`<registry-peer base-url=${url} role="guest" user-name="Bob" no-ui code=${code} join-code=${joinCode} .clientOptions=${FAST}></registry-peer>`,
  );
  setup(guest);
  const guestRec = record(guest);
  guest.autoConnect = true;
  return { host, guest, hostRec, guestRec };
}

describe("<registry-peer> connectivity", () => {
  it("peer-open tells the route (host candidates here, not relayed); `route` says the same", async () => {
    const { host, guest, hostRec, guestRec } = await pair({ noUi: true });
    for (const [el, rec] of [
      [host, hostRec],
      [guest, guestRec],
    ] as const) {
      const [detail] = rec.of("peer-open") as PeerOpenDetail[];
      expect(detail!.route).to.not.equal(null);
      const r = detail!.route!;
      expect(["host", "prflx"]).to.include(r.localType);
      expect(["host", "prflx"]).to.include(r.remoteType);
      expect(r.protocol).to.equal("udp");
      expect(r.relayed).to.equal(false);
      expect(el.route).to.deep.equal(r);
    }
    host.close();
    guest.close();
  });

  it("relay-only and connect-timeout attributes become properties", async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer relay-only connect-timeout="2500" no-ui></registry-peer>`,
    );
    expect(el.relayOnly).to.equal(true);
    expect(el.connectTimeout).to.equal(2500);
    expect(el.route).to.equal(null);
  });

  it("relay-only with no relay configured: at once, one connection_failed on both players, then peer-close", async () => {
    const { host, guest, hostRec, guestRec } = await players((el) => (el.relayOnly = true));
    await waitUntil(
      () => hostRec.of("peer-close").length === 1 && guestRec.of("peer-close").length === 1,
      "both closed",
      { timeout: 10_000 },
    );
    const h = hostRec.of("peer-error") as PeerErrorDetail[];
    const g = guestRec.of("peer-error") as PeerErrorDetail[];
    expect(h.map((e) => e.code)).to.deep.equal(["connection_failed"]);
    expect(g.map((e) => e.code)).to.deep.equal(["connection_failed"]);
    expect(h[0]!.message).to.equal(CONNECT_FAILURE_MESSAGES.relay_only_without_relay);
    // The guest finds out itself, or from the room the host closed first (a race either way).
    expect([
      CONNECT_FAILURE_MESSAGES.relay_only_without_relay,
      `The other player could not connect. ${CONNECT_FAILURE_MESSAGES.relay_only_without_relay}`,
    ]).to.include(g[0]!.message);
    expect(hostRec.of("peer-open")).to.deep.equal([]);
    expect(guestRec.of("peer-open")).to.deep.equal([]);
    expect(host.phase).to.equal("error");
    host.close();
    guest.close();
  });

  it("a relay that cannot be reached: one connection_failed on both players within connect-timeout (+ one restart), the relay named as the cause", async () => {
    // A TURN server on a closed loopback port: relay-only gathers nothing, ICE never connects.
    const dead: RTCConfiguration = {
      iceServers: [{ urls: "turn:127.0.0.1:9?transport=udp", username: "1:x", credential: "not-a-secret" }],
    };
    const t0 = performance.now();
    const { host, guest, hostRec, guestRec } = await players((el) => {
      el.rtcConfiguration = dead;
      el.relayOnly = true;
      el.connectTimeout = 2000;
    });
    await waitUntil(
      () => hostRec.of("peer-close").length === 1 && guestRec.of("peer-close").length === 1,
      "both closed",
      { timeout: 15_000 },
    );
    const elapsed = performance.now() - t0;
    for (const rec of [hostRec, guestRec]) {
      const errs = rec.of("peer-error") as PeerErrorDetail[];
      expect(errs.map((e) => e.code)).to.deep.equal(["connection_failed"]);
      expect(errs[0]!.message).to.contain(CONNECT_FAILURE_MESSAGES.relay_failed);
      expect(errs[0]!.message).to.not.contain("not-a-secret");
      expect(rec.of("peer-close")).to.deep.equal([{ reason: "connection_failed" }]);
    }
    // 2 s after both descriptions are set, plus signaling on a loaded machine.
    expect(elapsed).to.be.below(12_000);
    host.close();
    guest.close();
  });
});

describe("<registry-peer> channels that never open", () => {
  it("ICE connects but the host's channel is negotiated (no channel announced): channel_mismatch in words, then peer-close", async () => {
    const url = await registryUrl();
    // The host: a plain RegistryClient whose channel is pre-negotiated, which a guest element
    // (in-band channels) never sees announced.
    const host = new RegistryClient({ baseUrl: url, ...browserDefaults(), ...FAST });
    const room = await host.createRoom({ hostUserName: "Alice" });
    void host
      .connect({ role: "host", code: room.code, accessToken: room.ownerToken, dataChannel: { negotiated: true } })
      .catch(() => {});
    const guest = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} role="guest" user-name="Bob" code=${room.code} join-code=${room.joinCode}
        connect-timeout="1500" .clientOptions=${FAST}></registry-peer>`,
    );
    const rec = record(guest);
    const error = nextEvent<PeerErrorDetail>(guest, "peer-error", 15_000);
    guest.autoConnect = true;
    const detail = await error;
    expect(detail.code).to.equal("channel_mismatch");
    // What happened, not a name difference (both channels are called "data").
    expect(detail.message).to.equal(
      "Connected to the other player, but no data channel opened: the two pages cannot talk.",
    );
    await waitUntil(() => rec.of("peer-close").length === 1, "peer-close", { timeout: 5000 });
    await guest.updateComplete;
    expect(guest.shadowRoot!.querySelector("[part~=status]")!.textContent!.trim()).to.equal(detail.message);
    host.close();
  });
});
