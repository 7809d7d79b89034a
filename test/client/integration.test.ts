/**
 * Integration WITHOUT mocks: two RegistryClients in this page, real RTCPeerConnections, real
 * fetch, against the real Node Registry started by web-test-runner.config.mjs — with every
 * feature (the fast path: the host's offer goes with its room), with every one but `fast` (the
 * older extension path), and with REGISTRY_FEATURES=none (MVP path).
 */
import { expect } from "@open-wc/testing";
import { RegistryClient, browserDefaults, type RegistryClientEvents } from "../../src/client/index.ts";

interface Side { client: RegistryClient; got: (string | ArrayBuffer)[]; unreliable: number; closes: (string | undefined)[]; errors: Error[] }

function side(baseUrl: string): Side {
  const s: Side = { got: [], unreliable: 0, closes: [], errors: [] } as unknown as Side;
  const ev: RegistryClientEvents = {
    onMessage: (d, info) => (info.reliable ? s.got.push(d) : s.unreliable++),
    onClose: (why) => s.closes.push(why),
    onError: (e) => s.errors.push(e),
  };
  s.client = new RegistryClient({ baseUrl, ...browserDefaults() }, ev);
  return s;
}

const until = async (cond: () => boolean, ms: number, what: string) => {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Sends n packets respecting backpressure (send() false → wait for onDrain-equivalent). */
async function sendAll(c: RegistryClient, n: number, make: (i: number) => string | ArrayBuffer) {
  for (let i = 0; i < n; ) {
    if (c.send(make(i))) i++;
    else await new Promise((r) => setTimeout(r, 5));
  }
}

let urls: { full: string; legacy: string; none: string; error?: string };
const MODES = { full: "all features", legacy: "all but fast", none: "REGISTRY_FEATURES=none" } as const;

describe("integration: two clients, real WebRTC, real Registry", function () {
  before(async () => {
    urls = await (await fetch("/__registry.json")).json();
    if (urls.error) throw new Error(urls.error);
  });

  for (const mode of ["full", "legacy", "none"] as const) {
    it(`handshake, 1000 messages each way, unreliable burst, close (${MODES[mode]})`, async () => {
      const base = urls[mode];
      const host = side(base);
      const guest = side(base);
      const room = await host.client.createRoom({ hostUserName: "Alice", prepare: { unreliable: true } });
      const hostOpen = host.client.connect({ role: "host", code: room.code, accessToken: room.ownerToken, unreliable: true });
      const joined = await guest.client.joinRoom({ code: room.code, joinCode: room.joinCode, guestUserName: "Bob" });
      const guestOpen = guest.client.connect({ role: "guest", code: room.code, accessToken: joined.guestToken, unreliable: true });
      await Promise.all([hostOpen, guestOpen]);
      expect(host.client.getState().phase).to.equal("open");
      expect(guest.client.getState().phase).to.equal("open");
      expect(host.client.getFeatures().length).to.equal({ full: 6, legacy: 5, none: 0 }[mode]);

      const N = 1000;
      const enc = new TextEncoder();
      await Promise.all([
        sendAll(host.client, N, (i) => `h${i}`),
        sendAll(guest.client, N, (i) => enc.encode(`g${i}`).buffer as ArrayBuffer),
      ]);
      await until(() => host.got.length === N && guest.got.length === N, 20000, "1000 messages each way");
      const dec = new TextDecoder();
      expect(guest.got.every((m, i) => m === `h${i}`)).to.equal(true);
      expect(host.got.every((m, i) => m instanceof ArrayBuffer && dec.decode(m) === `g${i}`)).to.equal(true);

      for (let i = 0; i < 200; i++) host.client.send(new Uint8Array(64), { reliable: false });
      await until(() => guest.unreliable > 0, 5000, "unreliable packets");
      expect(guest.unreliable).to.be.at.most(200);

      host.client.close("done");
      await until(() => guest.closes.length === 1, 10000, "guest onClose");
      expect(host.closes).to.deep.equal(["done"]);
      expect(guest.closes).to.deep.equal(["peer_closed"]);
      // The server saw the close: the room is closed (410) for the guest's token.
      let status = 0;
      for (let i = 0; i < 50 && status !== 410; i++) {
        status = (await fetch(`${base}/rooms/${room.code}`, { headers: { "X-Access-Token": joined.guestToken } })).status;
        if (status !== 410) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).to.equal(410);
      expect(host.client.getState().phase).to.equal("closed");
      expect(guest.client.getState().phase).to.equal("closed");
      expect(host.errors).to.deep.equal([]);
      expect(guest.errors).to.deep.equal([]);
    });
  }

  it("either side's unreliable setting never breaks the connection: a guest that did not ask adopts the host's", async () => {
    const host = side(urls.full);
    const guest = side(urls.full);
    const room = await host.client.createRoom({ hostUserName: "Alice" });
    const hostOpen = host.client.connect({ role: "host", code: room.code, accessToken: room.ownerToken, unreliable: true });
    const joined = await guest.client.joinRoom({ code: room.code, joinCode: room.joinCode, guestUserName: "Bob" });
    const guestOpen = guest.client.connect({ role: "guest", code: room.code, accessToken: joined.guestToken });
    await Promise.all([hostOpen, guestOpen]);
    await until(() => guest.client.getState().rtc?.unreliableDc?.readyState === "open", 5000, "the guest's unreliable channel");
    for (let i = 0; i < 50; i++) host.client.send("u", { reliable: false });
    guest.client.send("r");
    await until(() => guest.unreliable > 0 && host.got.length === 1, 5000, "packets both ways");
    expect(host.closes).to.deep.equal([]);
    expect(guest.closes).to.deep.equal([]);
    host.client.close("done");
    await until(() => guest.closes.length === 1, 10000, "guest onClose");
    expect(guest.closes).to.deep.equal(["peer_closed"]);
    expect([...host.errors, ...guest.errors]).to.deep.equal([]);
  });
});
