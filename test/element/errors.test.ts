/**
 * Every error code: the peer-error event, the human message in the status line, and the recovery
 * the UI offers (Try again / the form / Start over). Server codes come from a fetch that answers
 * with the Registry's envelope; the client's local codes from real failing flows.
 */
import { aTimeout, expect, fixture, html, waitUntil } from "@open-wc/testing";
import type { RegistryPeer } from "../../src/element/index.ts";
import { ERROR_TEXT, describeError } from "../../src/element/messages.ts";
import { DEFAULT_STRINGS } from "../../src/element/strings.ts";
import { ERROR_STATUS, type ErrorCode } from "../../src/protocol/index.ts";
import {
  FAST,
  button,
  buttons,
  failingFetch,
  nextEvent,
  q,
  record,
  registryUrl,
  statusText,
  untilPhase,
} from "./helpers.ts";

interface PeerError {
  code: string;
  message: string;
  retryable: boolean;
  retryAfterSec?: number;
  attribute?: string;
}

/** The client's own retry sleeps (5xx/network backoff, up to 4 retries) run 20× faster here. */
const QUICK_RETRIES = {
  setTimeoutImpl: (fn: () => void, ms: number) => setTimeout(fn, ms / 20),
  clearTimeoutImpl: (t: unknown) => clearTimeout(t as number),
};

async function failingHost(fetchImpl: typeof fetch, quick = true): Promise<RegistryPeer> {
  const opts = { ...FAST, fetchImpl, ...(quick ? QUICK_RETRIES : {}) };
  return fixture<RegistryPeer>(
    html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} user-name="Alice" .clientOptions=${opts}></registry-peer>`,
  );
}

const SERVER_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

describe("<registry-peer> errors", () => {
  it("every code the client can report has a human message and a recovery", () => {
    const local = [
      "transition",
      "sdp_too_large",
      "candidate_too_large",
      "network",
      "timeout",
      "channel_mismatch",
      "connection_failed",
      "unknown",
    ];
    expect(Object.keys(ERROR_TEXT).sort()).to.deep.equal([...SERVER_CODES, ...local].sort());
    for (const [code, t] of Object.entries(ERROR_TEXT)) {
      expect(t.message, code).to.match(/^[A-Z].+[.?]$/);
      expect(["retry", "form", "restart"]).to.include(t.action);
    }
    expect(describeError("something_new")).to.equal(ERROR_TEXT.unknown);
  });

  // origin_not_allowed is the page's setup mistake: peer-error code "config" (setup.test.ts).
  for (const code of SERVER_CODES.filter((c) => c !== "origin_not_allowed")) {
    it(`server ${ERROR_STATUS[code]} ${code}: peer-error, message and recovery in the UI; accessible`, async () => {
      // Over the client's own retry cap (~10 s), so the wait is the UI's to show.
      const retryAfterSec = code === "rate_limited" ? 30 : undefined;
      const fetchImpl = failingFetch(ERROR_STATUS[code], code, retryAfterSec ? { retryAfterSec } : {});
      const el = await failingHost(fetchImpl);
      const rec = record(el);
      button(el, "Create room").click();
      const detail = await nextEvent<PeerError>(el, "peer-error");
      await el.updateComplete;
      const text = describeError(code);
      expect(detail.code).to.equal(code);
      expect(detail.message).to.equal(text.message);
      expect(detail.retryable).to.equal(["rate_limited", "internal", "unavailable", "no_offer"].includes(code));
      expect(detail.retryAfterSec).to.equal(retryAfterSec);
      expect(rec.of("peer-error").length).to.equal(1);
      // createRoom failed: back to idle (a closed/paired answer ends the client: closed).
      expect(["idle", "closed"]).to.include(el.phase);
      if (code === "rate_limited") {
        expect(statusText(el)).to.equal(`${text.message} Try again in 30 s.`);
        const retry = button(el, /Try again in \d+ s/);
        expect(retry.disabled).to.equal(true);
      } else {
        expect(statusText(el)).to.equal(text.message);
      }
      const status = q(el, "[part~=status]")!;
      expect(status.getAttribute("part")).to.equal("status error");
      if (text.action === "form") {
        // The host's form is shown again under the message (its button is the retry).
        expect(buttons(el)).to.deep.equal(["Create room"]);
      } else if (text.action === "retry" || detail.retryable) {
        expect(buttons(el)[0]).to.match(/^Try again/);
        expect(buttons(el)).to.include("Start over");
      } else {
        expect(buttons(el)).to.deep.equal(["Start over"]);
      }
      await expect(el).shadowDom.to.be.accessible();
      // No event called "error" ever left the element.
      expect(rec.all.some((e) => e.type === "error")).to.equal(false);
    });
  }

  it("a room the Registry let expire says so: nobody joined (host), ask for a new link (guest)", async () => {
    // The room is made for real; then it expires while the host waits (every later request: 410).
    let created = false;
    const expiring = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      if (!created) {
        created = true;
        return fetch(input, init);
      }
      return failingFetch(410, "closed", { closeReason: "expired" })(input, init);
    };
    const host = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"host"} user-name="Alice" .clientOptions=${{ ...FAST, fetchImpl: expiring }}></registry-peer>`,
    );
    button(host, "Create room").click();
    const hostErr = await nextEvent<PeerError>(host, "peer-error");
    await host.updateComplete;
    expect(hostErr.code).to.equal("closed");
    expect(hostErr.message).to.equal(DEFAULT_STRINGS.roomExpired);
    expect(statusText(host)).to.equal(DEFAULT_STRINGS.roomExpired);
    expect(buttons(host)).to.deep.equal(["Start over"]);

    const guest = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"guest"} code="K7M2QX" join-code="ABCD-1234" user-name="Bob" .clientOptions=${{ fetchImpl: failingFetch(410, "closed", { closeReason: "expired" }) }}></registry-peer>`,
    );
    button(guest, "Join room").click();
    const guestErr = await nextEvent<PeerError>(guest, "peer-error");
    expect(guestErr.message).to.equal(DEFAULT_STRINGS.roomExpiredGuest);
    // A plain 410 (the other player closed the room) keeps the plain text.
    const plain = await failingHost(failingFetch(410, "closed"));
    button(plain, "Create room").click();
    expect((await nextEvent<PeerError>(plain, "peer-error")).message).to.equal(ERROR_TEXT.closed.message);
  });

  it("no bubbling `error` event: failures are peer-error only", async () => {
    const el = await failingHost(failingFetch(500, "internal"));
    const errors: Event[] = [];
    const onErr = (e: Event) => {
      if (e.composedPath().includes(el)) errors.push(e);
    };
    document.addEventListener("error", onErr, true);
    window.addEventListener("error", onErr, true);
    try {
      await el.createRoom().catch(() => {});
      await aTimeout(10);
      expect(errors).to.deep.equal([]);
    } finally {
      document.removeEventListener("error", onErr, true);
      window.removeEventListener("error", onErr, true);
    }
  });

  it("rate_limited (a wait longer than the client retries itself): the countdown ticks, then Try again retries; the timer is released on removal", async () => {
    const fetchImpl = failingFetch(429, "rate_limited", { retryAfterSec: 11 });
    const el = await failingHost(fetchImpl);
    await el.createRoom().catch(() => {});
    await el.updateComplete;
    expect(fetchImpl.calls.length, "no automatic retry for an 11 s wait").to.equal(1);
    expect(button(el, /Try again in 11 s/).disabled).to.equal(true);
    await waitUntil(() => buttons(el).includes("Try again in 10 s"), "tick", { timeout: 2000 });
    await waitUntil(() => buttons(el).includes("Try again"), "countdown over", { timeout: 12_000 });
    expect(statusText(el)).to.equal(describeError("rate_limited").message);
    const before = fetchImpl.calls.length;
    const again = nextEvent<PeerError>(el, "peer-error");
    button(el, "Try again").click();
    await again;
    expect(fetchImpl.calls.length).to.equal(before + 1);
    expect(fetchImpl.calls.at(-1)).to.equal("POST /rooms");
    // Removal during a countdown leaves no timer behind.
    const origSet = window.setTimeout;
    const origClear = window.clearTimeout;
    const pending = new Set<unknown>();
    window.setTimeout = ((fn: () => void, ms?: number) => {
      const id = origSet(() => {
        pending.delete(id);
        fn();
      }, ms);
      pending.add(id);
      return id;
    }) as typeof setTimeout;
    window.clearTimeout = ((id: number) => {
      pending.delete(id);
      origClear(id);
    }) as typeof clearTimeout;
    try {
      await el.createRoom().catch(() => {}); // a third 429 starts a new countdown under the spy
      await el.updateComplete;
      expect(pending.size).to.be.greaterThan(0);
      el.remove();
      await aTimeout(0);
      expect(pending.size).to.equal(0);
    } finally {
      window.setTimeout = origSet;
      window.clearTimeout = origClear;
    }
  });

  it("rate_limited with a short wait: the client retries by itself and the status line says how long", async () => {
    let n = 0;
    const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (new URL(String(input)).pathname === "/rooms" && init?.method === "POST" && n++ === 0) {
        return new Response(JSON.stringify({ error: { code: "rate_limited", message: "x", retryAfterSec: 2 } }), {
          status: 429,
          headers: { "Content-Type": "application/json" },
        });
      }
      if (new URL(String(input)).pathname === "/rooms") {
        return new Response(
          JSON.stringify({
            code: "K7M2QX",
            ownerToken: "t".repeat(43),
            joinCode: "ABCD1234",
            expiresAt: Date.now() + 60_000,
          }),
          { status: 201, headers: { "Content-Type": "application/json" } },
        );
      }
      return new Response(null, { status: 204 });
    };
    const el = await failingHost(fetchImpl as typeof fetch, false);
    const created = el.createRoom();
    await waitUntil(() => /busy.*Retrying in 2 s/.test(statusText(el)), `retry note (${statusText(el)})`, {
      timeout: 2000,
    });
    const d = await created;
    expect(d.code).to.equal("K7M2QX");
    expect(n).to.equal(2);
    el.close();
  });

  it("internal: Try again repeats the step; Start over goes back to the form", async () => {
    const fetchImpl = failingFetch(500, "internal");
    const el = await failingHost(fetchImpl);
    button(el, "Create room").click();
    await nextEvent(el, "peer-error");
    await el.updateComplete;
    const n = fetchImpl.calls.length;
    button(el, "Try again").click();
    await nextEvent(el, "peer-error");
    expect(fetchImpl.calls.length).to.be.greaterThan(n);
    await el.updateComplete;
    button(el, "Start over").click();
    await el.updateComplete;
    expect(buttons(el)).to.deep.equal(["Create room"]);
    expect(statusText(el)).to.contain("Create a room");
  });

  it("guest bad_join_code / not_found: the message, the form kept with the field flagged", async () => {
    for (const [code, field] of [
      ["bad_join_code", "join"],
      ["not_found", "code"],
    ] as const) {
      const fetchImpl = failingFetch(ERROR_STATUS[code], code);
      const el = await fixture<RegistryPeer>(
        html`<registry-peer base-url="http://127.0.0.1:1" .role=${"guest"} code="K7M2QX" join-code="ABCD-1234" user-name="Bob" .clientOptions=${{ fetchImpl }}></registry-peer>`,
      );
      button(el, "Join room").click();
      const d = await nextEvent<PeerError>(el, "peer-error");
      await el.updateComplete;
      expect(d.code).to.equal(code);
      expect(statusText(el)).to.equal(describeError(code).message);
      expect(buttons(el)).to.deep.equal(["Join room"]);
      expect(q(el, `input[name=${field}]`)!.getAttribute("aria-invalid")).to.equal("true");
      await expect(el).shadowDom.to.be.accessible();
    }
  });

  it("network: fetch itself fails → 'Cannot reach the Registry' with Try again", async () => {
    const fetchImpl = async () => {
      throw new TypeError("Failed to fetch");
    };
    const el = await failingHost(fetchImpl as typeof fetch);
    button(el, "Create room").click();
    const d = await nextEvent<PeerError>(el, "peer-error", 15_000);
    await el.updateComplete;
    expect(d.code).to.equal("network");
    expect(d.retryable).to.equal(true);
    expect(statusText(el)).to.equal(describeError("network").message);
    expect(buttons(el)).to.deep.equal(["Try again", "Start over"]);
  });

  it("a response that is not the Registry's (no error envelope) → config error naming base-url, nothing to retry", async () => {
    const el = await failingHost(failingFetch(418, null) as typeof fetch);
    button(el, "Create room").click();
    const d = await nextEvent<PeerError>(el, "peer-error");
    await el.updateComplete;
    expect(d.code).to.equal("config");
    expect(d.attribute).to.equal("base-url");
    expect(d.retryable).to.equal(false);
    expect(statusText(el)).to.equal(DEFAULT_STRINGS.configNotRegistry);
    expect(buttons(el)).to.deep.equal([]);
  });

  it("a server error without the envelope (5xx) stays 'Something went wrong' with Try again", async () => {
    const el = await failingHost(failingFetch(502, null) as typeof fetch);
    button(el, "Create room").click();
    const d = await nextEvent<PeerError>(el, "peer-error", 15_000);
    await el.updateComplete;
    expect(d.code).to.equal("unknown");
    expect(statusText(el)).to.equal(describeError("unknown").message);
    expect(buttons(el)[0]).to.equal("Try again");
  });

  it("transition: createRoom() while one is running → peer-error transition", async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"host"} no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    const first = el.createRoom();
    let err: { code?: string } | undefined;
    await el.createRoom().catch((e) => (err = e));
    expect(err?.code).to.equal("transition");
    await first;
    el.close();
  });

  it("timeout: a guest joins but never answers → 'did not arrive in time' with Try again (a fresh attempt on the same room)", async () => {
    const url = await registryUrl();
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"host"} .clientOptions=${{ ...FAST, answerTimeoutMs: 300 }}></registry-peer>`,
    );
    const { code, joinCode } = await el.createRoom();
    el.connect().catch(() => {});
    const guest = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"guest"} code=${code} join-code=${joinCode} no-ui></registry-peer>`,
    );
    await guest.join(); // joined, never connects
    const d = await nextEvent<PeerError>(el, "peer-error", 10_000);
    await el.updateComplete;
    expect(d.code).to.equal("timeout");
    expect(el.phase).to.equal("error");
    expect(statusText(el)).to.equal(describeError("timeout").message);
    expect(buttons(el)).to.deep.equal(["Try again", "Start over"]);
    await expect(el).shadowDom.to.be.accessible();
    guest.close();
    el.close();
  });

  it("sdp_too_large: an oversized local offer is refused before any request", async () => {
    const createPeerConnection = (cfg: RTCConfiguration) => {
      const pc = new RTCPeerConnection(cfg);
      const big = { type: "offer" as const, sdp: `v=0\r\n${"a=x-padding:0123456789\r\n".repeat(1200)}` };
      pc.createOffer = (async () => big) as typeof pc.createOffer;
      pc.setLocalDescription = (async () => {}) as typeof pc.setLocalDescription;
      Object.defineProperty(pc, "localDescription", { get: () => big });
      return pc;
    };
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"host"} .clientOptions=${{ ...FAST, createPeerConnection }}></registry-peer>`,
    );
    el.connect().catch(() => {});
    const d = await nextEvent<PeerError>(el, "peer-error");
    await el.updateComplete;
    expect(d.code).to.equal("sdp_too_large");
    expect(el.phase).to.equal("error");
    expect(statusText(el)).to.equal(describeError("sdp_too_large").message);
    expect(buttons(el)).to.deep.equal(["Start over"]);
  });

  it("candidate_too_large: reported as peer-error, but not fatal (the UI keeps waiting)", async () => {
    let pc: RTCPeerConnection | undefined;
    const createPeerConnection = (cfg: RTCConfiguration) => (pc = new RTCPeerConnection(cfg));
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"host"} .clientOptions=${{ ...FAST, createPeerConnection }}></registry-peer>`,
    );
    el.connect().catch(() => {});
    await untilPhase(el, "polling_room");
    const got = nextEvent<PeerError>(el, "peer-error");
    const candidate = new RTCIceCandidate({
      candidate: `candidate:1 1 udp 1 192.0.2.1 9 typ host ${"x".repeat(1100)}`,
      sdpMid: "0",
    });
    pc!.dispatchEvent(new RTCPeerConnectionIceEvent("icecandidate", { candidate }));
    const d = await got;
    await el.updateComplete;
    expect(d.code).to.equal("candidate_too_large");
    expect(el.phase).to.equal("polling_room");
    expect(statusText(el)).to.equal("Waiting for the guest to join…");
    el.close();
  });

  it("the room closed under a waiting guest: closed (not a crash), Start over", async () => {
    const url = await registryUrl();
    const h = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"host"} no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    const { code, joinCode } = await h.createRoom();
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"guest"} code=${code} join-code=${joinCode} user-name="Bob" .clientOptions=${FAST}></registry-peer>`,
    );
    await el.join();
    const ended = nextEvent(el, "peer-close", 10_000);
    el.connect().catch(() => {});
    await aTimeout(100);
    h.close("host gave up");
    await ended;
    await el.updateComplete;
    expect(["closed", "error"]).to.include(el.phase);
    expect(buttons(el).length).to.be.greaterThan(0);
    await expect(el).shadowDom.to.be.accessible();
  });
});
