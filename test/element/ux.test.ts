/**
 * Issue #12 points 4 and 6, in real Chromium: focus follows the flow (create, join, a server
 * error, leave) with axe in every state; the error colour and a message told once; dark mode
 * through prefers-color-scheme and the custom properties; 44 px targets; slots; `strings`.
 */
import { aTimeout, expect, fixture, html, waitUntil } from "@open-wc/testing";
import { emulateMedia, sendKeys } from "@web/test-runner-commands";
import type { RegistryPeer } from "../../src/element/index.ts";
import { DEFAULT_STRINGS, type RegistryPeerStrings } from "../../src/element/strings.ts";
import { FAST, button, buttons, failingFetch, nextEvent, q, registryUrl, statusText, untilPhase } from "./helpers.ts";

const active = (el: RegistryPeer) => el.shadowRoot!.activeElement as HTMLElement | null;
const activeLabel = (el: RegistryPeer) =>
  active(el)?.textContent?.trim() || active(el)?.getAttribute("name") || active(el)?.getAttribute("part");

async function host(opts: Partial<RegistryPeer> = {}): Promise<RegistryPeer> {
  const el = await fixture<RegistryPeer>(
    html`<registry-peer base-url=${await registryUrl()} .role=${"host"} user-name="Alice" .clientOptions=${FAST}></registry-peer>`,
  );
  Object.assign(el, opts);
  await el.updateComplete;
  return el;
}

/** Every button and input of the current view is at least 44 px tall. */
function expectTargets(el: RegistryPeer): void {
  for (const c of el.shadowRoot!.querySelectorAll<HTMLElement>("button, input")) {
    expect(c.getBoundingClientRect().height, `${c.outerHTML.slice(0, 60)}`).to.be.at.least(44);
  }
}

describe("<registry-peer> focus follows the flow (keyboard), accessible in every state", () => {
  it("create → Copy link; guest join → Leave; Leave → Join another room; host sees the close → New room", async () => {
    const h = await host();
    expectTargets(h);
    await expect(h).shadowDom.to.be.accessible();
    q<HTMLInputElement>(h, "input[name=name]")!.focus();
    const created = nextEvent<{ code: string; joinCode: string }>(h, "room-created");
    await sendKeys({ press: "Enter" });
    const { code, joinCode } = await created;
    const hostOpen = nextEvent(h, "peer-open", 20_000);
    await waitUntil(() => activeLabel(h) === "Copy link", `focus on Copy link (is ${activeLabel(h)})`, {
      timeout: 10_000,
    });
    expectTargets(h);
    await expect(h).shadowDom.to.be.accessible();

    const g = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"guest"} code=${code} join-code=${joinCode} user-name="Bob" .clientOptions=${FAST}></registry-peer>`,
    );
    expectTargets(g);
    await expect(g).shadowDom.to.be.accessible();
    const join = button(g, "Join room");
    join.focus();
    await sendKeys({ press: "Enter" });
    // While busy no control exists: focus rests on the status line, inside the element.
    await waitUntil(() => g.phase !== "idle", "joining", { timeout: 10_000 });
    await g.updateComplete;
    expect(g.shadowRoot!.activeElement, "focus stays in the element").not.to.equal(null);
    await Promise.all([untilPhase(g, "open", 20_000), hostOpen]);
    await waitUntil(() => activeLabel(g) === "Leave", `focus on Leave (is ${activeLabel(g)})`, { timeout: 10_000 });
    await expect(g).shadowDom.to.be.accessible();
    await expect(h).shadowDom.to.be.accessible();

    const hostClosed = nextEvent(h, "peer-close", 10_000);
    await sendKeys({ press: "Enter" });
    await untilPhase(g, "closed");
    await waitUntil(() => activeLabel(g) === "Join another room", `focus on Join another room (is ${activeLabel(g)})`, {
      timeout: 10_000,
    });
    expectTargets(g);
    await expect(g).shadowDom.to.be.accessible();
    await hostClosed;
    await h.updateComplete;
    expect(buttons(h)).to.deep.equal(["New room"]);
    await expect(h).shadowDom.to.be.accessible();
    // Join another room → the form, focus on its first field.
    await sendKeys({ press: "Enter" });
    await waitUntil(() => active(g)?.getAttribute("name") === "code", `focus on the room code (is ${activeLabel(g)})`, {
      timeout: 10_000,
    });
    await expect(g).shadowDom.to.be.accessible();
  });

  it("a wrong join code from the server: focus on the join code field, the message told once (status), field flagged", async () => {
    const fetchImpl = failingFetch(403, "bad_join_code");
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"guest"} code="K7M2QX" join-code="ABCD-1234" user-name="Bob" .clientOptions=${{ fetchImpl }}></registry-peer>`,
    );
    button(el, "Join room").focus();
    const err = nextEvent(el, "peer-error");
    await sendKeys({ press: "Enter" });
    await err;
    await el.updateComplete;
    const joinInput = q<HTMLInputElement>(el, "input[name=join]")!;
    await waitUntil(() => active(el) === joinInput, `focus on the join code (is ${activeLabel(el)})`, {
      timeout: 10_000,
    });
    const message = DEFAULT_STRINGS.errors.bad_join_code;
    expect(statusText(el)).to.equal(message);
    expect(el.shadowRoot!.textContent!.split(message).length - 1, "told once").to.equal(1);
    expect(joinInput.getAttribute("aria-invalid")).to.equal("true");
    expect(joinInput.getAttribute("aria-describedby")).to.equal("status");
    expect(q(el, "#status")!.textContent!.trim()).to.equal(message);
    await expect(el).shadowDom.to.be.accessible();
  });

  it("a server error with nothing to fix in the form: focus on Try again", async () => {
    const fetchImpl = failingFetch(503, "unavailable");
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} user-name="Alice" .clientOptions=${{ fetchImpl, setTimeoutImpl: (fn: () => void, ms: number) => setTimeout(fn, ms / 20), clearTimeoutImpl: (t: unknown) => clearTimeout(t as number) }}></registry-peer>`,
    );
    button(el, "Create room").focus();
    const err = nextEvent(el, "peer-error", 15_000);
    await sendKeys({ press: "Enter" });
    await err;
    await waitUntil(() => activeLabel(el) === "Try again", `focus on Try again (is ${activeLabel(el)})`, {
      timeout: 10_000,
    });
    expectTargets(el);
    await expect(el).shadowDom.to.be.accessible();
  });

  it("a wait before Try again (rate limited): focus is not lost on the disabled button; Try again gets it when enabled", async () => {
    // The host's room view has focus on Copy link; then the room watch is rate limited for longer
    // than the client waits by itself: the error view's Try again is disabled for 11 s.
    const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
      if (!new URL(String(input)).pathname.endsWith("/watch")) return fetch(input, init);
      await aTimeout(300);
      return new Response(JSON.stringify({ error: { code: "rate_limited", message: "x", retryAfterSec: 11 } }), {
        status: 429,
        headers: { "Content-Type": "application/json" },
      });
    };
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${await registryUrl()} .role=${"host"} user-name="Alice" .clientOptions=${{ ...FAST, fetchImpl }}></registry-peer>`,
    );
    button(el, "Create room").focus();
    const err = nextEvent(el, "peer-error", 15_000);
    await sendKeys({ press: "Enter" });
    await waitUntil(() => activeLabel(el) === "Copy link", `focus on Copy link (is ${activeLabel(el)})`);
    await err;
    await el.updateComplete;
    expect(button(el, /Try again in/).disabled).to.equal(true);
    expect(active(el), "focus stays in the element").not.to.equal(null);
    expect(active(el)!.id).to.equal("status");
    await waitUntil(() => activeLabel(el) === "Try again", `focus on Try again (is ${activeLabel(el)})`, {
      timeout: 13_000,
    });
    el.remove();
  });

  it("focus is not taken when it was outside the element", async () => {
    const outside = document.createElement("button");
    outside.textContent = "page";
    document.body.append(outside);
    const el = await host();
    outside.focus();
    await el.createRoom();
    await el.updateComplete;
    await aTimeout(0);
    expect(document.activeElement).to.equal(outside);
    el.close();
    outside.remove();
  });
});

describe("<registry-peer> looks", () => {
  afterEach(() => emulateMedia({ colorScheme: "light" }));

  it("an error status is in the error colour, not the muted one", async () => {
    const el = await fixture<RegistryPeer>(html`<registry-peer .role=${"host"}></registry-peer>`);
    const status = q(el, "[part~=status]")!;
    expect(status.getAttribute("part")).to.equal("status error");
    expect(getComputedStyle(status).color).to.equal("rgb(179, 38, 30)");
    el.style.setProperty("--registry-peer-error-color", "rgb(1, 2, 3)");
    expect(getComputedStyle(status).color).to.equal("rgb(1, 2, 3)");
  });

  it("dark mode: prefers-color-scheme dark gives the dark defaults; the page's custom properties still win; accessible", async () => {
    const el = await host();
    expect(getComputedStyle(el).backgroundColor).to.equal("rgb(255, 255, 255)");
    await emulateMedia({ colorScheme: "dark" });
    expect(matchMedia("(prefers-color-scheme: dark)").matches).to.equal(true);
    expect(getComputedStyle(el).backgroundColor).to.equal("rgb(22, 27, 34)");
    expect(getComputedStyle(el).color).to.equal("rgb(230, 237, 243)");
    expect(getComputedStyle(q(el, "button")!).backgroundColor).to.equal("rgb(88, 166, 255)");
    await expect(el).shadowDom.to.be.accessible();
    el.style.setProperty("--registry-peer-background", "rgb(10, 20, 30)");
    expect(getComputedStyle(el).backgroundColor).to.equal("rgb(10, 20, 30)");
    await emulateMedia({ colorScheme: "light" });
    expect(getComputedStyle(el).color).to.equal("rgb(27, 31, 36)");
  });
});

describe("<registry-peer> slots and strings", () => {
  it("heading and actions slots show the page's content around the UI; no-ui hides them", async () => {
    const el = await fixture<RegistryPeer>(html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"}>
      <h2 slot="heading">Play with a friend</h2>
      <button slot="actions" id="extra">Rules</button>
    </registry-peer>`);
    const heading = q<HTMLSlotElement>(el, "slot[name=heading]")!;
    const actions = q<HTMLSlotElement>(el, "slot[name=actions]")!;
    expect(heading.assignedElements().map((e) => e.textContent)).to.deep.equal(["Play with a friend"]);
    expect(actions.assignedElements().map((e) => e.id)).to.deep.equal(["extra"]);
    const h2 = el.querySelector("h2")!;
    const status = q(el, "[part~=status]")!;
    expect(h2.getBoundingClientRect().bottom).to.be.at.most(status.getBoundingClientRect().top);
    expect(el.querySelector("#extra")!.getBoundingClientRect().top).to.be.at.least(
      q(el, "form")!.getBoundingClientRect().bottom,
    );
    await expect(el).shadowDom.to.be.accessible();
    el.noUi = true;
    await el.updateComplete;
    expect(h2.getBoundingClientRect().height).to.equal(0);
  });

  it("strings: every visible text of the host's and the guest's views comes from `strings`", async () => {
    // Every string replaced by a marked one; a default English text left in the UI is a miss.
    const marked = Object.fromEntries(
      Object.entries(DEFAULT_STRINGS).map(([k, v]) => [
        k,
        typeof v === "function"
          ? (x: unknown) => `«${k} ${x}»`
          : typeof v === "string"
            ? `«${k}»`
            : Object.fromEntries(Object.keys(v).map((c) => [c, `«${c}»`])),
      ]),
    ) as unknown as RegistryPeerStrings;
    const visible = (el: RegistryPeer) => {
      const root = el.shadowRoot!;
      const texts = [...root.querySelectorAll("*")].flatMap((n) => [
        ...[...n.childNodes].filter((c) => c.nodeType === Node.TEXT_NODE).map((c) => c.textContent!.trim()),
        n.getAttribute("aria-label") ?? "",
        n.getAttribute("placeholder") ?? "",
      ]);
      return texts.filter(
        (t) => t !== "" && !/^[«»]|^[A-Z0-9]{6}$|^[A-Z0-9]{4}-[A-Z0-9]{4}$|^(K7M2QX|ABCD-1234)$|^http/.test(t),
      );
    };
    const url = await registryUrl();
    const h = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"host"} user-name="Alice" .strings=${marked} .clientOptions=${FAST}></registry-peer>`,
    );
    expect(visible(h), "host form").to.deep.equal([]);
    expect(buttons(h)).to.deep.equal(["«createRoom»"]);
    await h.createRoom();
    await h.updateComplete;
    expect(visible(h), "host room").to.deep.equal([]);
    expect(statusText(h)).to.equal("«waitingGuest»");
    const g = await fixture<RegistryPeer>(
      html`<registry-peer base-url=${url} .role=${"guest"} .strings=${marked} .clientOptions=${FAST}></registry-peer>`,
    );
    expect(visible(g), "guest form").to.deep.equal([]);
    // A local validation message and a Registry error message, through `strings`.
    button(g, "«joinRoom»").click();
    await g.updateComplete;
    expect(q(g, "#code-err")!.textContent).to.equal("«badRoomCode»");
    expect(visible(g), "guest form with errors").to.deep.equal([]);
    const bad = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"guest"} code="K7M2QX" join-code="ABCD-1234" user-name="Bob" .strings=${marked} .clientOptions=${{ fetchImpl: failingFetch(403, "bad_join_code") }}></registry-peer>`,
    );
    const err = nextEvent<{ message: string }>(bad, "peer-error");
    button(bad, "«joinRoom»").click();
    expect((await err).message).to.equal("«bad_join_code»");
    await bad.updateComplete;
    expect(statusText(bad)).to.equal("«bad_join_code»");
    h.close();
  });

  it("strings: a partial object replaces only what it names (English for the rest)", async () => {
    const el = await fixture<RegistryPeer>(
      html`<registry-peer base-url="http://127.0.0.1:1" .role=${"host"} .strings=${{ createRoom: "Raum erstellen", errors: { internal: "Fehler" } }}></registry-peer>`,
    );
    expect(buttons(el)).to.deep.equal(["Raum erstellen"]);
    expect(statusText(el)).to.equal(DEFAULT_STRINGS.hostIdle);
    expect(q(el, "label")!.textContent).to.contain("Your name");
  });
});
