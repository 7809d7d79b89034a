/**
 * The join-code UI in every phase, for both roles: content, inline validation, keyboard use,
 * accessibility (axe through chai-a11y-axe) and theming.
 */
import { aTimeout, expect, fixture, html, waitUntil } from "@open-wc/testing";
import { sendKeys } from "@web/test-runner-commands";
import type { RegistryPeer } from "../../src/element/index.ts";
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
  type,
  untilPhase,
} from "./helpers.ts";

/*
 * The a11y checks below set `role` as a property: the contract's `role="host|guest"` ATTRIBUTE is
 * also ARIA's global `role` attribute, and axe reports any non-ARIA value on the host element
 * itself (rule aria-roles). The test "the role attribute" pins that this is the only finding.
 */

/** Records the status line after every phase change (what a screen reader would hear). */
function statusByPhase(el: RegistryPeer): Map<string, string> {
  const seen = new Map<string, string>();
  el.addEventListener("phase-change", async (e) => {
    await el.updateComplete;
    seen.set(e.detail.phase, statusText(el));
  });
  return seen;
}

async function host(userName = "Alice"): Promise<RegistryPeer> {
  return fixture<RegistryPeer>(
    html`<registry-peer base-url=${await registryUrl()} .role=${"host"} user-name=${userName} .clientOptions=${FAST}></registry-peer>`,
  );
}

async function guest(attrs: { code?: string; joinCode?: string } = {}): Promise<RegistryPeer> {
  return fixture<RegistryPeer>(html`<registry-peer
    base-url=${await registryUrl()}
    .role=${"guest"}
    code=${attrs.code ?? ""}
    join-code=${attrs.joinCode ?? ""}
    .clientOptions=${FAST}
  ></registry-peer>`);
}

describe("<registry-peer> UI: host", () => {
  it("idle: a labelled name field (from user-name) and a Create room button; a polite status line; accessible", async () => {
    const el = await host("Alice");
    const status = q(el, "[part~=status]")!;
    expect(status.getAttribute("aria-live")).to.equal("polite");
    expect(status.getAttribute("role")).to.equal("status");
    expect(statusText(el)).to.contain("Create a room");
    const name = q<HTMLInputElement>(el, "input[name=name]")!;
    expect(name.value).to.equal("Alice");
    expect(name.closest("label")!.textContent).to.contain("Your name");
    expect(buttons(el)).to.deep.equal(["Create room"]);
    await expect(el).shadowDom.to.be.accessible();
  });

  it("inline validation: an empty name is flagged on the field, focused, and nothing is sent", async () => {
    const fetchImpl = failingFetch(500, "internal");
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} .clientOptions=${{ fetchImpl }}></registry-peer>`,
    );
    type(el, "name", "   ");
    button(el, "Create room").click();
    await el.updateComplete;
    await aTimeout(0);
    const input = q<HTMLInputElement>(el, "input[name=name]")!;
    expect(input.getAttribute("aria-invalid")).to.equal("true");
    const err = q(el, `#${input.getAttribute("aria-describedby")}`)!;
    expect(err.textContent).to.contain("1 to 32");
    expect(err.getAttribute("part")).to.equal("field-error");
    expect(el.shadowRoot!.activeElement).to.equal(input);
    expect(fetchImpl.calls).to.deep.equal([]);
    await expect(el).shadowDom.to.be.accessible();
    // Fixing it clears the message as the player types.
    type(el, "name", "Al");
    await el.updateComplete;
    expect(input.getAttribute("aria-invalid")).to.equal("false");
  });

  it("keyboard: Enter in the name field creates the room; waiting view shows both codes (XXXX-XXXX), a share link, copy, progress; accessible", async () => {
    const el = await host();
    const statuses = statusByPhase(el);
    q<HTMLInputElement>(el, "input[name=name]")!.focus();
    await sendKeys({ press: "End" });
    await sendKeys({ type: "e" });
    const created = nextEvent<{ code: string; joinCode: string; shareUrl: string }>(el, "room-created");
    await sendKeys({ press: "Enter" });
    const d = await created;
    await untilPhase(el, "polling_room");
    await el.updateComplete;
    expect(el.client!.getState().phase).to.equal("polling_room");
    expect(q(el, "[part~=room-code]")!.textContent).to.equal(d.code);
    expect(q(el, "[part~=join-code]")!.textContent).to.equal(`${d.joinCode.slice(0, 4)}-${d.joinCode.slice(4)}`);
    const share = q<HTMLInputElement>(el, "input[part~=share-link]")!;
    expect(share.value).to.equal(d.shareUrl);
    expect(share.readOnly).to.equal(true);
    expect(share.getAttribute("aria-label")).to.equal("Share link");
    const progress = q(el, "progress[part~=progress]")!;
    expect(progress.getAttribute("aria-label")).to.equal("Waiting for the guest to join…");
    expect(statusText(el)).to.equal("Waiting for the guest to join…");
    expect(statuses.get("creating_room")).to.equal("Creating a room…");
    expect(buttons(el)).to.deep.equal(["Copy link", "Cancel"]);
    // Tab from the share link reaches the copy button.
    share.focus();
    await sendKeys({ press: "Tab" });
    expect(el.shadowRoot!.activeElement).to.equal(q(el, "[part~=copy-button]"));
    await expect(el).shadowDom.to.be.accessible();
    el.close();
  });

  it("copy button: copies the link (or selects it when the clipboard is refused) and says so", async () => {
    const el = await host();
    await el.createRoom();
    await el.updateComplete;
    // waiting_guest (room created, connect() not called yet) is the same waiting view.
    expect(el.phase).to.equal("waiting_guest");
    expect(statusText(el)).to.equal("Waiting for the guest to join…");
    expect(q(el, "[part~=room-code]")!.textContent).to.equal(el.roomCode);
    button(el, "Copy link").click();
    await waitUntil(() => /copied|Ctrl\+C/.test(statusText(el)), "copy note");
    if (/Ctrl\+C/.test(statusText(el))) {
      const share = q<HTMLInputElement>(el, "input[name=share]")!;
      expect(share.selectionEnd! - share.selectionStart!).to.equal(share.value.length);
    } else {
      expect(await navigator.clipboard.readText().catch(() => el.shareUrl)).to.equal(el.shareUrl);
    }
    el.close();
  });

  it("Cancel while waiting ends the room and shows the form again", async () => {
    const el = await host();
    await el.createRoom();
    const code = el.roomCode;
    await el.updateComplete;
    button(el, "Cancel").click();
    await el.updateComplete;
    expect(el.phase).to.equal("idle");
    expect(buttons(el)).to.deep.equal(["Create room"]);
    expect(el.roomCode).to.not.equal(code);
  });

  it('connecting → open ("Connected to <guest>", Leave) → closed (New room) → idle; accessible in each', async () => {
    const el = await host();
    const statuses = statusByPhase(el);
    const created = nextEvent<{ code: string; joinCode: string }>(el, "room-created");
    button(el, "Create room").click();
    const { code, joinCode } = await created;
    const g = await guest({ code, joinCode });
    type(g, "name", "Bob");
    const open = nextEvent(el, "peer-open", 20_000);
    button(g, "Join room").click();
    await open;
    await el.updateComplete;
    expect(statusText(el)).to.equal("Connected to Bob.");
    expect(statuses.get("draining_ice")).to.equal("Connecting…");
    expect(buttons(el)).to.deep.equal(["Leave"]);
    await expect(el).shadowDom.to.be.accessible();
    button(el, "Leave").click();
    await el.updateComplete;
    expect(el.phase).to.equal("closed");
    expect(statusText(el)).to.equal("The connection is closed.");
    expect(buttons(el)).to.deep.equal(["New room"]);
    await expect(el).shadowDom.to.be.accessible();
    button(el, "New room").click();
    await el.updateComplete;
    expect(el.phase).to.equal("idle");
    expect(buttons(el)).to.deep.equal(["Create room"]);
  });
});

describe("<registry-peer> UI: guest", () => {
  it("idle: labelled room code, join code and name fields and a Join button; accessible", async () => {
    const el = await guest();
    const labels = [...el.shadowRoot!.querySelectorAll("label")].map((l) =>
      [...l.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent)
        .join("")
        .trim(),
    );
    expect(labels).to.deep.equal(["Room code", "Join code or link", "Your name"]);
    expect(buttons(el)).to.deep.equal(["Join room"]);
    expect(statusText(el)).to.contain("Enter the codes");
    await expect(el).shadowDom.to.be.accessible();
  });

  it("inline validation on blur and on submit (first invalid field focused); no request; accessible with errors", async () => {
    const fetchImpl = failingFetch(500, "internal");
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"guest"} .clientOptions=${{ fetchImpl }}></registry-peer>`,
    );
    const code = type(el, "code", "12");
    code.dispatchEvent(new Event("blur"));
    await el.updateComplete;
    expect(code.getAttribute("aria-invalid")).to.equal("true");
    expect(q(el, "#code-err")!.textContent).to.contain("6 letters and digits");
    type(el, "join", "xyz");
    button(el, "Join room").click();
    await el.updateComplete;
    await aTimeout(0);
    expect(q(el, "#join-err")!.textContent).to.contain("8 letters and digits");
    expect(q(el, "#name-err")!.textContent).to.contain("1 to 32");
    expect(el.shadowRoot!.activeElement).to.equal(code);
    expect(fetchImpl.calls).to.deep.equal([]);
    await expect(el).shadowDom.to.be.accessible();
    // Typed the forgiving way: lower case, O for 0, spaces: accepted.
    type(el, "code", "k7m2qx");
    type(el, "join", "abcd 123o");
    type(el, "name", "Bob");
    await el.updateComplete;
    expect(q(el, "#code-err")).to.equal(null);
    expect(q(el, "#join-err")).to.equal(null);
  });

  it("a pasted share link in the join field fills both codes", async () => {
    const el = await guest();
    type(el, "join", "https://game.example/play#room=K7M2QX&join=ABCD-1234");
    await el.updateComplete;
    expect(q<HTMLInputElement>(el, "input[name=code]")!.value).to.equal("K7M2QX");
    expect(q<HTMLInputElement>(el, "input[name=join]")!.value).to.equal("ABCD-1234");
  });

  it("takes the codes from the page's URL fragment (also when it changes)", async () => {
    const before = location.hash;
    try {
      location.hash = "#room=K7M2QX&join=abcd1234";
      const el = await guest();
      expect(q<HTMLInputElement>(el, "input[name=code]")!.value).to.equal("K7M2QX");
      expect(q<HTMLInputElement>(el, "input[name=join]")!.value).to.equal("ABCD-1234");
      location.hash = "#room=H4JM8N&join=BNQPA40H";
      await waitUntil(() => q<HTMLInputElement>(el, "input[name=code]")!.value === "H4JM8N", "hashchange");
      expect(q<HTMLInputElement>(el, "input[name=join]")!.value).to.equal("BNQP-A40H");
    } finally {
      history.replaceState(null, "", location.pathname + location.search + before);
    }
  });

  it('join → connecting → open ("Connected to <host>") → host leaves → closed (Join another room) → form; accessible', async () => {
    const h = await host("Alice");
    const created = nextEvent<{ code: string; joinCode: string }>(h, "room-created");
    h.autoConnect = true;
    const { code, joinCode } = await created;
    const el = await guest();
    const statuses = statusByPhase(el);
    type(el, "code", code);
    type(el, "join", joinCode.toLowerCase());
    type(el, "name", "Bob");
    const open = nextEvent(el, "peer-open", 20_000);
    button(el, "Join room").click();
    await open;
    await el.updateComplete;
    expect(statuses.get("joining_room")).to.equal("Joining the room…");
    expect(statuses.get("posting_answer")).to.equal("Connecting…");
    expect(statusText(el)).to.equal("Connected to Alice.");
    await expect(el).shadowDom.to.be.accessible();
    const closed = nextEvent(el, "peer-close", 2000);
    h.close("bye");
    await closed;
    await el.updateComplete;
    expect(statusText(el)).to.equal("The other player left."); // its close reason: peer_closed
    expect(buttons(el)).to.deep.equal(["Join another room"]);
    button(el, "Join another room").click();
    await el.updateComplete;
    expect(buttons(el)).to.deep.equal(["Join room"]);
  });
});

describe("<registry-peer> UI: auto-connect guest from the URL fragment", () => {
  it("joins from the share link; after the host leaves, 'Join another room' does not re-join the spent link; a new link in the URL does", async () => {
    const before = location.hash;
    const hosts: RegistryPeer[] = [];
    const newRoom = async () => {
      const h = await host("Alice");
      hosts.push(h);
      const d = await h.createRoom();
      h.connect().catch(() => {});
      return { h, fragment: new URL(d.shareUrl).hash };
    };
    try {
      const first = await newRoom();
      history.replaceState(null, "", first.fragment);
      const el = await fixture<RegistryPeer>(
        html`<registry-peer base-url=${await registryUrl()} auto-connect user-name="Bob" .clientOptions=${FAST}></registry-peer>`,
      );
      await nextEvent(el, "peer-open", 20_000); // auto-connect starts after the first render: not missed
      expect(el.state.role).to.equal("guest");
      const closed = nextEvent(el, "peer-close", 2000);
      first.h.close("bye");
      await closed;
      await el.updateComplete;
      button(el, "Join another room").click();
      await aTimeout(300);
      expect(el.phase).to.equal("idle");
      expect(buttons(el)).to.deep.equal(["Join room"]);
      const second = await newRoom();
      const open = nextEvent(el, "peer-open", 20_000);
      location.hash = second.fragment;
      await open;
      expect(el.client!.getRoomSnapshot()?.hostUserName).to.equal("Alice");
      el.close();
    } finally {
      for (const h of hosts) h.close();
      history.replaceState(null, "", location.pathname + location.search + before);
    }
  });
});

describe("<registry-peer> UI: the role attribute and axe", () => {
  it('with role="host" as an attribute, axe\'s only finding is that attribute on the host element (nothing in the shadow root)', async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" role="host"></registry-peer>`,
    );
    await expect(el).shadowDom.to.be.accessible({ ignoredRules: ["aria-roles"] });
    let message = "";
    try {
      await expect(el).shadowDom.to.be.accessible();
    } catch (e) {
      message = (e as Error).message;
    }
    const rules = [...message.matchAll(/Rule: (\S+)/g)].map((m) => m[1]);
    expect(rules).to.deep.equal(["aria-roles"]);
    expect(message).to.contain("Issue target: registry-peer");
  });
});

describe("<registry-peer> UI: no-ui and theming", () => {
  it("the hidden attribute hides it, as on any element (:host's display must not win)", async () => {
    const el = await fixture<RegistryPeer>(html`<registry-peer base-url="http://127.0.0.1:1" hidden></registry-peer>`);
    expect(getComputedStyle(el).display).to.equal("none");
    el.hidden = false;
    expect(getComputedStyle(el).display).to.equal("block");
  });

  it("no-ui renders nothing visible but still works", async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} role="host" no-ui .clientOptions=${FAST}></registry-peer>`,
    );
    expect(getComputedStyle(el).display).to.equal("none");
    expect(el.shadowRoot!.querySelector("[part]")).to.equal(null);
    const rec = record(el);
    await el.createRoom();
    expect(rec.of("room-created").length).to.equal(1);
    el.close();
  });

  it("CSS custom properties and ::part() style the inside", async () => {
    const style = document.createElement("style");
    style.textContent = `
      registry-peer.themed { --registry-peer-accent: rgb(1, 2, 3); --registry-peer-accent-text: rgb(250, 250, 250); }
      registry-peer.themed::part(status) { color: rgb(4, 5, 6); }
      registry-peer.themed::part(input) { border-color: rgb(7, 8, 9); }`;
    document.head.append(style);
    try {
      const el = await fixture<RegistryPeer>(
        html`<registry-peer class="themed" base-url="http://127.0.0.1:1" role="host"></registry-peer>`,
      );
      const btn = q(el, "[part~=primary-button]")!;
      expect(getComputedStyle(btn).backgroundColor).to.equal("rgb(1, 2, 3)");
      expect(getComputedStyle(btn).color).to.equal("rgb(250, 250, 250)");
      expect(getComputedStyle(q(el, "[part~=status]")!).color).to.equal("rgb(4, 5, 6)");
      expect(getComputedStyle(q(el, "[part~=input]")!).borderTopColor).to.equal("rgb(7, 8, 9)");
    } finally {
      style.remove();
    }
  });
});
