import { expect } from "@open-wc/testing";
import {
  CONNECT_FAILURE_MESSAGES,
  ICE_REFRESH_MARGIN_MS,
  failureCause,
  grantExpiring,
  isRelayOnly,
  pageOwnsIce,
  relayOffered,
  sessionConfig,
} from "../../src/client/ice-config.ts";

const STUN = { urls: ["stun:stun.example.test:3478"] };
const TURN = { urls: ["turn:turn.example.test:3478?transport=udp"], username: "1:u", credential: "c" };
const grant = (iceExpiresAt: number | null = null) => ({ iceServers: [STUN, TURN], iceExpiresAt });

describe("ice-config: which servers a session uses", () => {
  it("the page wins when it sets iceServers (even []); else the Registry's", () => {
    expect(pageOwnsIce({})).to.equal(false);
    expect(pageOwnsIce({ iceServers: [] })).to.equal(true);
    expect(sessionConfig({ iceServers: [] }, grant(), false)).to.deep.equal({ iceServers: [] });
    expect(sessionConfig({ bundlePolicy: "max-bundle" }, grant(), false)).to.deep.equal({
      bundlePolicy: "max-bundle",
      iceServers: [STUN, TURN],
    });
    // No grant (a server without `ice`): the page's configuration as it is.
    expect(sessionConfig({}, null, false)).to.deep.equal({});
  });

  it("relay-only from the option or from the page's own policy", () => {
    expect(isRelayOnly({}, undefined)).to.equal(false);
    expect(isRelayOnly({}, true)).to.equal(true);
    expect(isRelayOnly({ iceTransportPolicy: "relay" }, false)).to.equal(true);
    expect(sessionConfig({}, grant(), true)).to.deep.equal({ iceServers: [STUN, TURN], iceTransportPolicy: "relay" });
  });

  it("a relay is offered only by a TURN URL with credentials", () => {
    expect(relayOffered({})).to.equal(false);
    expect(relayOffered({ iceServers: [STUN] })).to.equal(false);
    expect(relayOffered({ iceServers: [{ urls: "turn:t.example.test" }] })).to.equal(false);
    expect(relayOffered({ iceServers: [STUN, TURN] })).to.equal(true);
    expect(
      relayOffered({
        iceServers: [{ urls: "turns:t.example.test:443?transport=tcp", username: "u", credential: "c" }],
      }),
    ).to.equal(true);
  });

  it("credentials count as expiring a margin before iceExpiresAt; null never expires", () => {
    expect(grantExpiring(null, 0)).to.equal(false);
    expect(grantExpiring(grant(null), 1e15)).to.equal(false);
    expect(grantExpiring(grant(100_000 + ICE_REFRESH_MARGIN_MS), 99_999)).to.equal(false);
    expect(grantExpiring(grant(100_000 + ICE_REFRESH_MARGIN_MS), 100_000)).to.equal(true);
  });

  it("says why nothing connected, in plain words", () => {
    expect(failureCause({ iceServers: [STUN] })).to.equal("no_relay");
    expect(failureCause({})).to.equal("no_relay");
    expect(failureCause({ iceServers: [STUN], iceTransportPolicy: "relay" })).to.equal("relay_only_without_relay");
    expect(failureCause({ iceServers: [STUN, TURN], iceTransportPolicy: "relay" })).to.equal("relay_failed");
    expect(failureCause({ iceServers: [TURN] })).to.equal("relay_failed");
    expect(CONNECT_FAILURE_MESSAGES.no_relay).to.match(/relay \(TURN\) server is needed but none is configured/);
    expect(CONNECT_FAILURE_MESSAGES.relay_failed).to.match(/not even through the relay/);
    expect(CONNECT_FAILURE_MESSAGES.relay_only_without_relay).to.match(/Relay-only mode is on/);
  });
});

describe("protocol: parseIceGrant reads what the Registry sends, defensively", () => {
  it("keeps well-formed servers, drops the rest", async () => {
    const { parseIceGrant } = await import("../../src/protocol/index.ts");
    expect(parseIceGrant(null)).to.equal(null);
    expect(parseIceGrant({})).to.equal(null);
    expect(parseIceGrant({ iceServers: [STUN, TURN], iceExpiresAt: 5 })).to.deep.equal({
      iceServers: [STUN, TURN],
      iceExpiresAt: 5,
    });
    const g = parseIceGrant({
      iceServers: [
        { urls: "stun:a.example.test" },
        { urls: ["http://x", "stun:b.example.test:1"] },
        { urls: "turn:t.example.test" },
        { urls: "turn:t.example.test", username: 1, credential: "c" },
        { urls: 5 },
        "nope",
        { urls: ["stun:c.example.test?transport=udp"] },
        { urls: "stun:d.example.test:0" },
      ],
      iceExpiresAt: "soon",
    });
    expect(g).to.deep.equal({
      iceServers: [{ urls: ["stun:a.example.test"] }, { urls: ["stun:b.example.test:1"] }],
      iceExpiresAt: null,
    });
  });
});
