/**
 * <registry-peer>'s attributes, properties, methods and events against a real Node Registry,
 * with real WebRTC between two elements in this page.
 */
import { aTimeout, expect, fixture, html, waitUntil } from "@open-wc/testing";
import { RegistryPeer } from "../../src/element/index.ts";
import { RegistryClient } from "../../src/client/client.ts";
import { FAST, hostEl, nextEvent, pair, record, registryUrl, untilPhase } from "./helpers.ts";

describe("<registry-peer> attributes and properties", () => {
  it("is defined once, and reflects attributes into properties", async () => {
    expect(customElements.get("registry-peer")).to.equal(RegistryPeer);
    const el = await fixture<RegistryPeer>(html`<registry-peer
      base-url="http://127.0.0.1:1"
      role="guest"
      code="k7m2qx"
      join-code="abcd-1234"
      user-name="Zoë"
      unreliable
      no-ui
      backpressure-threshold="1000"
      ice-servers='[{"urls":"stun:stun.example.com:3478"}]'
    ></registry-peer>`);
    expect(el.baseUrl).to.equal("http://127.0.0.1:1");
    expect(el.role).to.equal("guest");
    expect(el.roomCode).to.equal("k7m2qx");
    expect(el.joinCode).to.equal("abcd-1234");
    expect(el.userName).to.equal("Zoë");
    expect(el.unreliable).to.equal(true);
    expect(el.noUi).to.equal(true);
    expect(el.autoConnect).to.equal(false);
    expect(el.backpressureThreshold).to.equal(1000);
    expect(el.rtcConfiguration).to.deep.equal({ iceServers: [{ urls: "stun:stun.example.com:3478" }] });
  });

  it("phase is read-only and starts idle; state, bufferedAmount and client before any session", async () => {
    const el = await fixture<RegistryPeer>(html`<registry-peer role="host"></registry-peer>`);
    expect(el.phase).to.equal("idle");
    expect(() => ((el as unknown as { phase: string }).phase = "open")).to.throw(TypeError);
    expect(el.phase).to.equal("idle");
    expect(el.state.phase).to.equal("idle");
    expect(el.bufferedAmount).to.equal(0);
    expect(el.client, "no client without base-url").to.equal(null);
    el.baseUrl = await registryUrl();
    const c = el.client;
    expect(c).to.be.instanceOf(RegistryClient);
    expect(el.client, "the same client until the session changes").to.equal(c);
    expect(el.shareUrl).to.equal(null);
  });

  it("ice-servers: absent leaves iceServers unset (the Registry's are used); not a JSON array gives none (a setup mistake); rtcConfiguration set as a property wins and reaches the RTCPeerConnection", async () => {
    const el = await fixture<RegistryPeer>(html`<registry-peer ice-servers="not json" no-ui></registry-peer>`);
    expect(el.rtcConfiguration).to.deep.equal({ iceServers: [] });
    el.setAttribute("ice-servers", '{"urls":"stun:x"}');
    expect(el.rtcConfiguration, "not an array").to.deep.equal({ iceServers: [] });
    el.setAttribute("ice-servers", "[]");
    expect(el.rtcConfiguration, "an empty list is the page's choice").to.deep.equal({ iceServers: [] });
    el.removeAttribute("ice-servers");
    expect(el.rtcConfiguration).to.deep.equal({});
    const cfg: RTCConfiguration = { iceServers: [{ urls: "stun:127.0.0.1:9" }], iceTransportPolicy: "all" };
    el.rtcConfiguration = cfg;
    expect(el.rtcConfiguration).to.equal(cfg);
    // The configuration is what the client's RTCPeerConnection gets.
    let seen: RTCConfiguration | undefined;
    el.clientOptions = {
      ...FAST,
      createPeerConnection: (c) => {
        seen = c;
        return new RTCPeerConnection(c);
      },
    };
    el.baseUrl = await registryUrl();
    el.role = "host";
    const open = nextEvent(el, "phase-change");
    el.connect().catch(() => {});
    await open;
    await waitUntil(() => seen !== undefined, "pc created");
    // The page set iceServers, so they are used as given (the client passes its own copy).
    expect(seen).to.deep.equal(cfg);
    el.close();
  });

  it("user-name is the host's name the guest sees", async () => {
    const { guest } = await pair();
    expect(guest.client!.getRoomSnapshot()?.hostUserName).to.equal("Alice");
  });

  it("role absent: host, unless the page's URL fragment is a share link (then guest, codes from it)", async () => {
    const before = location.hash;
    try {
      const el = await fixture<RegistryPeer>(html`<registry-peer base-url="http://127.0.0.1:1"></registry-peer>`);
      expect(el.shadowRoot!.querySelector("input[name=code]")).to.equal(null);
      expect(el.shadowRoot!.textContent).to.contain("Create room");
      location.hash = "#room=K7M2QX&join=ABCD-1234";
      const g = await fixture<RegistryPeer>(html`<registry-peer base-url="http://127.0.0.1:1"></registry-peer>`);
      expect(g.shadowRoot!.querySelector<HTMLInputElement>("input[name=code]")!.value).to.equal("K7M2QX");
      expect(g.shadowRoot!.querySelector<HTMLInputElement>("input[name=join]")!.value).to.equal("ABCD-1234");
      // The client's session role follows.
      expect(g.client!.getState().phase).to.equal("idle");
    } finally {
      history.replaceState(null, "", location.pathname + location.search + before);
    }
  });
});

describe("<registry-peer> methods and events", () => {
  it("createRoom() sets roomCode/joinCode and fires room-created with a fragment share link", async () => {
    const el = await hostEl({ noUi: true });
    const rec = record(el);
    const d = await el.createRoom();
    expect(d.code).to.match(/^[0-9A-HJKMNP-TV-Z]{6}$/);
    expect(d.joinCode).to.match(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(d.expiresAt).to.be.greaterThan(Date.now());
    expect(el.roomCode).to.equal(d.code);
    expect(el.joinCode).to.equal(d.joinCode);
    const u = new URL(d.shareUrl);
    expect(u.hash).to.equal(`#room=${d.code}&join=${d.joinCode.slice(0, 4)}-${d.joinCode.slice(4)}`);
    expect(u.origin + u.pathname + u.search).to.equal(location.origin + location.pathname + location.search);
    expect(el.shareUrl).to.equal(d.shareUrl);
    expect(rec.of("room-created")).to.deep.equal([d]);
    expect(rec.of("phase-change")).to.deep.equal([
      { phase: "creating_room", previous: "idle" },
      { phase: "waiting_guest", previous: "creating_room" },
    ]);
    expect(el.phase).to.equal("waiting_guest");
    // The guest role has no createRoom.
    const g = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} role="guest" no-ui></registry-peer>`,
    );
    let threw = false;
    await g.createRoom().catch(() => (threw = true));
    expect(threw).to.equal(true);
  });

  it("join() then connect(): guest methods; events bubble and are composed", async () => {
    const url = await registryUrl();
    const host = await hostEl({ noUi: true });
    const { code, joinCode } = await host.createRoom();
    const hostOpen = nextEvent(host, "peer-open", 20_000);
    host.connect().catch(() => {});
    // The guest inside another element's shadow root: its events still reach document.
    const wrapper = await fixture<HTMLDivElement>(html`<div></div>`);
    const root = wrapper.attachShadow({ mode: "open" });
    const guest = document.createElement("registry-peer");
    Object.assign(guest, {
      baseUrl: url,
      role: "guest",
      roomCode: code,
      joinCode,
      userName: "Bob",
      noUi: true,
      clientOptions: FAST,
    });
    root.append(guest);
    const seen: string[] = [];
    const onDoc = (e: Event) => seen.push(e.type);
    for (const t of ["phase-change", "peer-open"]) document.addEventListener(t, onDoc);
    try {
      await guest.join();
      expect(guest.client!.getState().accessToken).to.be.a("string");
      await guest.connect();
      await hostOpen;
      expect(guest.phase).to.equal("open");
      expect(seen).to.include("peer-open");
      expect(seen).to.include("phase-change");
    } finally {
      for (const t of ["phase-change", "peer-open"]) document.removeEventListener(t, onDoc);
      guest.close();
      host.close();
    }
  });

  it("join() without valid codes rejects before any request", async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" role="guest" code="nope" no-ui></registry-peer>`,
    );
    let err: unknown;
    await el.join().catch((e) => (err = e));
    expect(err).to.be.instanceOf(Error);
    expect(el.phase).to.equal("idle");
  });

  it("send(): throws before peer-open; packets arrive as `packet` {data, reliable}, strings and binary, both channels", async () => {
    const url = await registryUrl();
    const early = await fixture<RegistryPeer>(html`<registry-peer base-url=${url} no-ui></registry-peer>`);
    expect(() => early.send("x")).to.throw();
    const { host, guest, guestRec, hostRec } = await pair({ unreliable: true, noUi: true });
    expect(host.state.rtc?.unreliableDc?.label, "unreliable attribute opens a second channel").to.equal("unreliable");
    expect(host.send("hello")).to.equal(true);
    expect(host.send(new Uint8Array([1, 2, 3]))).to.equal(true);
    expect(host.send("fast", { reliable: false })).to.equal(true);
    expect(guest.send("back")).to.equal(true);
    await waitUntil(() => guestRec.of("packet").length >= 3 && hostRec.of("packet").length >= 1, "packets", {
      timeout: 5000,
    });
    const got = guestRec.of("packet") as { data: unknown; reliable: boolean }[];
    const str = got.filter((p) => typeof p.data === "string");
    expect(str.find((p) => p.data === "hello")?.reliable).to.equal(true);
    expect(str.find((p) => p.data === "fast")?.reliable).to.equal(false);
    const bin = got.find((p) => p.data instanceof ArrayBuffer)!;
    expect([...new Uint8Array(bin.data as ArrayBuffer)]).to.deep.equal([1, 2, 3]);
    expect(hostRec.of("packet")).to.deep.equal([{ data: "back", reliable: true }]);
  });

  it("a guest without `unreliable` still takes the host's unreliable channel", async () => {
    const url = await registryUrl();
    const host = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} role="host" unreliable no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    const { code, joinCode } = await host.createRoom();
    const hostOpen = nextEvent(host, "peer-open", 20_000);
    host.connect().catch(() => {});
    const guest = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} role="guest" code=${code} join-code=${joinCode} no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    const rec = record(guest);
    await guest.connect();
    await hostOpen;
    await waitUntil(() => guest.state.rtc?.unreliableDc?.readyState === "open", "guest has the unreliable channel");
    host.send("u", { reliable: false });
    await waitUntil(() => rec.of("packet").length === 1, "packet");
    expect(rec.of("packet")).to.deep.equal([{ data: "u", reliable: false }]);
    expect(host.phase).to.equal("open");
    guest.close();
  });

  it("without `unreliable` there is one channel and reliable:false falls back to it", async () => {
    const { host, guestRec } = await pair({ noUi: true });
    expect(host.state.rtc?.unreliableDc).to.equal(undefined);
    expect(host.send("x", { reliable: false })).to.equal(true);
    await waitUntil(() => guestRec.of("packet").length === 1, "packet");
    expect(guestRec.of("packet")).to.deep.equal([{ data: "x", reliable: true }]);
  });

  it("backpressure-threshold: send() returns false above it, then `drain` fires and sending works again", async () => {
    const { host, hostRec } = await pair({ threshold: 64 * 1024, noUi: true });
    const chunk = new Uint8Array(16 * 1024);
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) refused = !host.send(chunk);
    expect(refused, "send() refused at some point").to.equal(true);
    expect(host.bufferedAmount).to.be.greaterThan(0);
    await nextEvent(host, "drain", 10_000);
    expect(hostRec.of("drain").length).to.equal(1);
    expect(host.send(chunk)).to.equal(true);
  });

  it("close(reason): the local side gets peer-close {reason}, the peer gets peer-close, both end in phase closed", async () => {
    const { host, guest, hostRec, guestRec } = await pair({ noUi: true });
    const remote = nextEvent<{ reason: string }>(guest, "peer-close", 2000);
    host.close("game over");
    expect(hostRec.of("peer-close")).to.deep.equal([{ reason: "game over" }]);
    expect(host.phase).to.equal("closed");
    expect(typeof (await remote).reason).to.equal("string");
    await untilPhase(guest, "closed", 2000);
    expect(guestRec.of("peer-close").length).to.equal(1);
    expect(hostRec.of("peer-error").length + guestRec.of("peer-error").length).to.equal(0);
    // close() again is a no-op.
    host.close("again");
    expect(hostRec.of("peer-close").length).to.equal(1);
  });

  it("connect() called again while connecting or open shares the attempt (no second room, no error)", async () => {
    const el = await hostEl({ noUi: true });
    const rec = record(el);
    const a = el.connect();
    const b = el.connect();
    expect(b).to.equal(a);
    const { code, joinCode } = await nextEvent<{ code: string; joinCode: string }>(el, "room-created");
    const g = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} role="guest" code=${code} join-code=${joinCode} no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    await g.connect();
    await a;
    await el.connect();
    expect(rec.of("room-created").length).to.equal(1);
    expect(rec.of("peer-error")).to.deep.equal([]);
    expect(el.phase).to.equal("open");
    g.close();
  });

  it("after close(), connect() starts a new session (a new room for the host)", async () => {
    const el = await hostEl({ noUi: true });
    const first = await el.createRoom();
    el.close();
    const rec = record(el);
    const created = nextEvent<{ code: string }>(el, "room-created");
    el.connect().catch(() => {});
    const second = await created;
    expect(second.code).to.not.equal(first.code);
    expect(rec.of("phase-change")[0]).to.deep.equal({ phase: "idle", previous: "closed" });
    el.close();
  });

  it("auto-connect (host): creates the room and connects when attached", async () => {
    const url = await registryUrl();
    const wrap = await fixture<HTMLDivElement>(html`<div></div>`);
    const el = document.createElement("registry-peer");
    el.setAttribute("base-url", url);
    el.setAttribute("auto-connect", "");
    el.clientOptions = FAST;
    const created = nextEvent(el, "room-created");
    // It starts ahead of the first render (which then overlaps the offer and the create request).
    let renderedAtStart: boolean | undefined;
    el.addEventListener("phase-change", () => (renderedAtStart ??= el.hasUpdated), { once: true });
    wrap.append(el);
    await created;
    expect(renderedAtStart, "the create started before the first render").to.equal(false);
    await untilPhase(el, "polling_room");
    el.close();
  });

  it("auto-connect (guest): waits for both codes, then joins and connects", async () => {
    const host = await hostEl({ noUi: true });
    const { code, joinCode } = await host.createRoom();
    const hostOpen = nextEvent(host, "peer-open", 20_000);
    host.connect().catch(() => {});
    const guest = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} role="guest" auto-connect no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    await aTimeout(100);
    expect(guest.phase, "no codes yet: nothing happens").to.equal("idle");
    guest.roomCode = code;
    await aTimeout(50);
    expect(guest.phase, "one code is not enough").to.equal("idle");
    const open = nextEvent(guest, "peer-open", 20_000);
    guest.joinCode = joinCode;
    await Promise.all([open, hostOpen]);
    guest.close();
  });

  it("several elements on one page work independently", async () => {
    const a = await pair({ noUi: true });
    const b = await pair({ noUi: true });
    expect(a.code).to.not.equal(b.code);
    a.host.send("to-a");
    b.host.send("to-b");
    await waitUntil(() => a.guestRec.of("packet").length === 1 && b.guestRec.of("packet").length === 1, "packets");
    expect(a.guestRec.of("packet")).to.deep.equal([{ data: "to-a", reliable: true }]);
    expect(b.guestRec.of("packet")).to.deep.equal([{ data: "to-b", reliable: true }]);
    a.host.close();
    await nextEvent(a.guest, "peer-close", 2000);
    expect(b.host.phase).to.equal("open");
    expect(b.guest.phase).to.equal("open");
    expect(b.guestRec.of("peer-close").length).to.equal(0);
  });

  it("changing role while connected closes the old session cleanly (the peer hears it) and goes back to idle", async () => {
    const { host, guest, hostRec } = await pair({ noUi: true });
    const oldClient = host.client!;
    const remote = nextEvent(guest, "peer-close", 2000);
    host.role = "guest";
    await host.updateComplete;
    await remote;
    expect(oldClient.getState().phase).to.equal("closed");
    expect(hostRec.of("peer-close")).to.deep.equal([{ reason: "reconfigured" }]);
    expect(host.phase).to.equal("idle");
    expect(host.client).to.not.equal(oldClient);
    expect(hostRec.of("peer-error")).to.deep.equal([]);
    // The old room's codes were outputs of createRoom(), not inputs: the new guest session does not reuse them.
    expect(host.roomCode).to.equal(undefined);
    expect(host.joinCode).to.equal(undefined);
  });

  it("changing base-url while connected closes the old session cleanly too", async () => {
    const { host, guest, guestRec } = await pair({ noUi: true });
    guest.autoConnect = false; // else it would join again at once with its codes (on a paired room: an error)
    const old = guest.client!;
    const remote = nextEvent(host, "peer-close", 2000);
    guest.baseUrl = `${await registryUrl()}/`;
    await guest.updateComplete;
    await remote;
    expect(old.getState().phase).to.equal("closed");
    expect(guest.phase).to.equal("idle");
    expect(guestRec.of("peer-close")).to.deep.equal([{ reason: "reconfigured" }]);
  });

  it("removing the element closes the session and releases every timer and listener", async () => {
    // Count the client's live timers and the element's window listeners.
    const live = new Set<unknown>();
    const timers: Partial<typeof FAST> = {
      setTimeoutImpl: (fn: () => void, ms: number) => {
        const id = setTimeout(() => {
          live.delete(id);
          fn();
        }, ms);
        live.add(id);
        return id;
      },
      clearTimeoutImpl: (id: unknown) => {
        clearTimeout(id as number);
        live.delete(id);
      },
    };
    const added = new Map<string, Set<unknown>>();
    const origAdd = window.addEventListener;
    const origRemove = window.removeEventListener;
    window.addEventListener = function (this: Window, t: string, f: unknown, o?: unknown) {
      if (!added.has(t)) added.set(t, new Set());
      added.get(t)!.add(f);
      return origAdd.call(this, t, f as EventListener, o as AddEventListenerOptions);
    } as typeof window.addEventListener;
    window.removeEventListener = function (this: Window, t: string, f: unknown, o?: unknown) {
      added.get(t)?.delete(f);
      return origRemove.call(this, t, f as EventListener, o as EventListenerOptions);
    } as typeof window.removeEventListener;
    try {
      const url = await registryUrl();
      const host = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${url} role="host" no-ui .clientOptions=${{ ...FAST, ...timers }}></registry-peer>`,
      );
      // This element's window listeners (the guest below adds its own).
      const mine = [...added].flatMap(([t, set]) => [...set].map((f) => [t, f] as const));
      expect(mine.map(([t]) => t).sort()).to.deep.equal(["hashchange", "pagehide"]);
      const { code, joinCode } = await host.createRoom();
      const hostOpen = nextEvent(host, "peer-open", 20_000);
      host.connect().catch(() => {});
      const guest = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${url} role="guest" code=${code} join-code=${joinCode} auto-connect no-ui .clientOptions=${FAST}></registry-peer>`,
      );
      await hostOpen;
      const pc = host.state.rtc!.pc!;
      const rec = record(host);
      const remote = nextEvent(guest, "peer-close", 2000);
      host.remove();
      await aTimeout(0);
      await remote;
      expect(pc.connectionState).to.equal("closed");
      expect(rec.of("peer-close")).to.deep.equal([{ reason: "element removed" }]);
      expect(live.size, "client timers left").to.equal(0);
      for (const [t, f] of mine) expect(added.get(t)!.has(f), `window ${t} listener left`).to.equal(false);
      guest.close();
    } finally {
      window.addEventListener = origAdd;
      window.removeEventListener = origRemove;
    }
  });

  it("moving the element (remove + insert in one task) keeps the session", async () => {
    const { host, guest, guestRec } = await pair({ noUi: true });
    const other = await fixture<HTMLDivElement>(html`<div></div>`);
    other.append(host); // detach + attach synchronously
    await aTimeout(50);
    expect(host.phase).to.equal("open");
    expect(host.send("still here")).to.equal(true);
    await waitUntil(() => guestRec.of("packet").length === 1, "packet after move");
    guest.close();
  });

  it("pagehide closes the session (the peer does not wait for ICE to time out)", async () => {
    const { host, guest } = await pair({ noUi: true });
    const remote = nextEvent(host, "peer-close", 2000);
    window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false }));
    await remote;
    expect(guest.phase).to.equal("closed");
  });
});
