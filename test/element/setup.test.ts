/**
 * Setup mistakes a page author can make (issue #12, point 1): each gives peer-error code
 * "config" naming the attribute, ONE console.warn naming the attribute and the fix, and the same
 * message in the UI; and the `debug` attribute's console lines, which carry no secret.
 */
import { expect, fixture, html, waitUntil } from "@open-wc/testing";
import type { RegistryPeer } from "../../src/element/index.ts";
import type { PeerErrorDetail } from "../../src/element/events.ts";
import { DEFAULT_STRINGS } from "../../src/element/strings.ts";
import { FAST, button, buttons, failingFetch, nextEvent, registryUrl, statusText } from "./helpers.ts";

/** Captures console[method] calls (the arguments, stringified) until restore(). */
function captureConsole(method: "warn" | "info") {
  const calls: string[] = [];
  const orig = console[method];
  console[method] = (...args: unknown[]) => {
    calls.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  };
  return { calls, restore: () => (console[method] = orig) };
}

/** Create room on `el` ends in the refused-origin config error: event, UI text, one warning. */
async function expectRefusedOrigin(el: RegistryPeer, warnings: string[]): Promise<void> {
  button(el, "Create room").click();
  const d = await nextEvent<PeerErrorDetail>(el, "peer-error");
  await el.updateComplete;
  expect(d).to.deep.equal({
    code: "config",
    message: DEFAULT_STRINGS.configOrigin,
    retryable: false,
    attribute: "base-url",
  });
  expect(statusText(el)).to.equal(DEFAULT_STRINGS.configOrigin);
  expect(warnings.length).to.equal(1);
  expect(warnings[0]).to.contain("ALLOWED_ORIGINS");
}

/**
 * An element with `attrs`, its peer-error events recorded from before it is attached (the
 * setup check runs on its first update).
 */
async function mount(attrs: Record<string, string>): Promise<{ el: RegistryPeer; errors: PeerErrorDetail[] }> {
  const el = document.createElement("registry-peer") as RegistryPeer;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  const errors: PeerErrorDetail[] = [];
  el.addEventListener("peer-error", (e) => errors.push(e.detail));
  el.clientOptions = FAST;
  document.body.append(el);
  await el.updateComplete;
  return { el, errors };
}

const cases: { name: string; attrs: Record<string, string>; attribute: string; message: string; warn: RegExp }[] = [
  {
    name: "no base-url",
    attrs: {},
    attribute: "base-url",
    message: DEFAULT_STRINGS.configNoBaseUrl,
    warn: /base-url is missing.*base-url="https:\/\//,
  },
  {
    name: "base-url without a scheme",
    attrs: { "base-url": "registry.example.com" },
    attribute: "base-url",
    message: DEFAULT_STRINGS.configBadBaseUrl,
    warn: /base-url is not a full http\(s\) URL/,
  },
  {
    name: "base-url host:port without a scheme",
    attrs: { "base-url": "localhost:8787" },
    attribute: "base-url",
    message: DEFAULT_STRINGS.configBadBaseUrl,
    warn: /base-url/,
  },
  {
    name: "base-url with another scheme",
    attrs: { "base-url": "ftp://registry.example.com" },
    attribute: "base-url",
    message: DEFAULT_STRINGS.configBadBaseUrl,
    warn: /base-url/,
  },
  {
    name: 'role="hots"',
    attrs: { "base-url": "http://127.0.0.1:1", role: "hots" },
    attribute: "role",
    message: DEFAULT_STRINGS.configRole,
    warn: /role must be "host" or "guest"/,
  },
  {
    name: "ice-servers not JSON",
    attrs: {
      "base-url": "http://127.0.0.1:1",
      role: "host",
      "ice-servers": '[{"urls":"turn:t.example","credential":"SECRET-CRED"',
    },
    attribute: "ice-servers",
    message: DEFAULT_STRINGS.configIceServers,
    warn: /ice-servers is not a JSON array/,
  },
  {
    name: "ice-servers JSON but not an array",
    attrs: { "base-url": "http://127.0.0.1:1", role: "host", "ice-servers": '{"urls":"stun:x"}' },
    attribute: "ice-servers",
    message: DEFAULT_STRINGS.configIceServers,
    warn: /ice-servers/,
  },
];

describe("<registry-peer> setup mistakes", () => {
  for (const c of cases) {
    it(`${c.name}: peer-error config naming ${c.attribute}, one console.warn with the fix, the UI says so; a click does not warn again`, async () => {
      const warn = captureConsole("warn");
      try {
        const { el, errors } = await mount(c.attrs);
        expect(errors.length).to.equal(1);
        expect(errors[0]).to.deep.equal({
          code: "config",
          message: c.message,
          retryable: false,
          attribute: c.attribute,
        });
        expect(statusText(el)).to.equal(c.message);
        expect(warn.calls.length).to.equal(1);
        expect(warn.calls[0]).to.match(/^<registry-peer>: /);
        expect(warn.calls[0]).to.match(c.warn);
        expect(warn.calls[0]).to.contain(c.attribute);
        expect(warn.calls[0]).not.to.contain("SECRET-CRED");
        expect(JSON.stringify(errors)).not.to.contain("SECRET-CRED");
        // The methods refuse with the same error; the console is not repeated.
        let thrown: { code?: string; attribute?: string } | undefined;
        await el.connect().catch((e) => (thrown = e));
        expect(thrown?.code).to.equal("config");
        expect(thrown?.attribute).to.equal(c.attribute);
        expect(errors.length).to.equal(2);
        expect(warn.calls.length).to.equal(1);
        expect(el.client).to.equal(null);
        // The role attribute is also ARIA's: axe flags role="host"/"hots" on the element itself
        // (a documented limitation); nothing else may be found.
        await expect(el).shadowDom.to.be.accessible(c.attrs.role ? { ignoredRules: ["aria-roles"] } : {});
        el.remove();
      } finally {
        warn.restore();
      }
    });
  }

  it("fixing the attribute removes the message and shows the form; a valid setup warns nothing", async () => {
    const warn = captureConsole("warn");
    try {
      const { el, errors } = await mount({ role: "host" });
      expect(statusText(el)).to.equal(DEFAULT_STRINGS.configNoBaseUrl);
      expect(buttons(el)).to.deep.equal([]);
      el.baseUrl = await registryUrl();
      await el.updateComplete;
      expect(statusText(el)).to.equal(DEFAULT_STRINGS.hostIdle);
      expect(buttons(el)).to.deep.equal(["Create room"]);
      expect(errors.length).to.equal(1);
      el.remove();
      const ok = await mount({
        "base-url": "https://registry.example.com",
        role: "guest",
        "ice-servers": '[{"urls":"stun:stun.example.com"}]',
      });
      expect(ok.errors).to.deep.equal([]);
      expect(warn.calls.length).to.equal(1);
      ok.el.remove();
    } finally {
      warn.restore();
    }
  });

  it("an explicit rtcConfiguration makes a bad ice-servers attribute irrelevant", async () => {
    const warn = captureConsole("warn");
    try {
      const el = document.createElement("registry-peer") as RegistryPeer;
      el.setAttribute("base-url", "http://127.0.0.1:1");
      el.setAttribute("ice-servers", "not json");
      el.rtcConfiguration = { iceServers: [] };
      const errors: unknown[] = [];
      el.addEventListener("peer-error", (e) => errors.push(e.detail));
      document.body.append(el);
      await el.updateComplete;
      expect(errors).to.deep.equal([]);
      expect(warn.calls).to.deep.equal([]);
      el.remove();
    } finally {
      warn.restore();
    }
  });

  it("a refused origin (403 origin_not_allowed) is reported as such, naming base-url and ALLOWED_ORIGINS", async () => {
    const warn = captureConsole("warn");
    try {
      const fetchImpl = failingFetch(403, "origin_not_allowed");
      const el = await fixture<RegistryPeer>(
        html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} user-name="Alice" .clientOptions=${{ ...FAST, fetchImpl }}></registry-peer>`,
      );
      await expectRefusedOrigin(el, warn.calls);
    } finally {
      warn.restore();
    }
  });

  it("a real Registry that refuses this page's origin: the same config error, through the browser's CORS", async () => {
    const warn = captureConsole("warn");
    try {
      const j = (await (await fetch("/__strict-registry.json")).json()) as { url?: string; error?: string };
      if (!j.url) throw new Error(`strict registry did not start: ${j.error}`);
      const el = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${j.url} .role=${"host"} user-name="Alice" .clientOptions=${FAST}></registry-peer>`,
      );
      await expectRefusedOrigin(el, warn.calls);
    } finally {
      warn.restore();
    }
  });

  it("a base-url that is not a Registry warns once, even when tried twice", async () => {
    const warn = captureConsole("warn");
    try {
      const fetchImpl = failingFetch(404, null);
      const el = await fixture<RegistryPeer>(
        html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} no-ui .clientOptions=${{ ...FAST, fetchImpl }}></registry-peer>`,
      );
      for (let i = 0; i < 2; i++) {
        let thrown: { code?: string } | undefined;
        const ev = nextEvent<PeerErrorDetail>(el, "peer-error");
        await el.connect().catch((e) => (thrown = e));
        expect((await ev).code).to.equal("config");
        expect(thrown?.code).to.equal("config");
      }
      expect(warn.calls.length).to.equal(1);
      expect(warn.calls[0]).to.match(/does not point to a Registry/);
    } finally {
      warn.restore();
    }
  });
});

describe("<registry-peer debug>", () => {
  it("logs phases and requests to the console, never a room code, join code, token, SDP or candidate", async () => {
    const info = captureConsole("info");
    try {
      const url = await registryUrl();
      const host = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${url} .role=${"host"} debug no-ui .clientOptions=${FAST}></registry-peer>`,
      );
      const guest = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${url} .role=${"guest"} debug no-ui .clientOptions=${FAST}></registry-peer>`,
      );
      const hostOpen = nextEvent(host, "peer-open", 20_000);
      const { code, joinCode } = await host.createRoom();
      guest.roomCode = code;
      guest.joinCode = joinCode;
      const guestOpen = nextEvent(guest, "peer-open", 20_000);
      const seenSdp: string[] = [];
      void host.connect();
      void guest.connect();
      await Promise.all([hostOpen, guestOpen]);
      const pc = host.state.rtc!.pc!;
      seenSdp.push(pc.localDescription!.sdp, pc.remoteDescription!.sdp);
      const token = host.state.accessToken!;
      const all = info.calls.join("\n");
      expect(
        info.calls.some(
          (l) => l.startsWith("[registry-peer] request") && /\/rooms\/:code\/(offer|watch|answer)/.test(l),
        ),
      ).to.equal(true);
      expect(info.calls.some((l) => l.startsWith("[registry-peer] response"))).to.equal(true);
      expect(info.calls.some((l) => l.startsWith("[registry-peer] phase_change") && l.includes('"open"'))).to.equal(
        true,
      );
      for (const secret of [code, joinCode, token, guest.state.accessToken!]) expect(all).not.to.contain(secret);
      expect(all).not.to.match(/candidate:|a=fingerprint|v=0/);
      for (const sdp of seenSdp) expect(all).not.to.contain(sdp.slice(0, 60));
      host.close();
      guest.close();
      // Without debug: nothing.
      info.calls.length = 0;
      const quiet = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${url} .role=${"host"} no-ui .clientOptions=${FAST}></registry-peer>`,
      );
      await quiet.createRoom();
      quiet.close();
      await waitUntil(() => quiet.phase === "closed" || quiet.phase === "idle", "closed", { timeout: 5000 });
      // (The debug elements' own /close answers may still arrive: only lines of other sessions count.)
      expect(info.calls.filter((l) => !l.includes("/rooms/:code/close"))).to.deep.equal([]);
    } finally {
      info.restore();
    }
  });
});
