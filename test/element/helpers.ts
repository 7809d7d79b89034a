/** Shared helpers for the <registry-peer> tests (real Chromium, real WebRTC). */
import { fixture, html, waitUntil } from "@open-wc/testing";
import "../../src/element/index.ts";
import type { RegistryPeer } from "../../src/element/index.ts";
import type { RegistryClientOptions } from "../../src/client/types.ts";

let registry: Promise<string> | undefined;

/** The URL of a real Node Registry (rate limits off) started by web-test-runner.config.mjs. */
export function registryUrl(): Promise<string> {
  registry ??= fetch("/__element-registry.json")
    .then((r) => r.json())
    .then((j: { url?: string; error?: string }) => {
      if (!j.url) throw new Error(`element registry did not start: ${j.error}`);
      return j.url;
    });
  return registry;
}

/** Fast polling so MVP-path waits stay short in tests; everything else is the browser default. */
export const FAST: Partial<RegistryClientOptions> = { roomPollIntervalMs: 50, iceDrainIntervalMs: 50 };

export interface Recorder {
  all: { type: string; detail: unknown }[];
  of(type: string): unknown[];
  stop(): void;
}

export const EVENT_TYPES = [
  "phase-change",
  "room-created",
  "peer-open",
  "packet",
  "drain",
  "peer-close",
  "peer-error",
] as const;

/** Records the element's events (listening on the element itself). */
export function record(el: HTMLElement): Recorder {
  const all: { type: string; detail: unknown }[] = [];
  const fn = (e: Event) => all.push({ type: e.type, detail: (e as CustomEvent).detail });
  for (const t of EVENT_TYPES) el.addEventListener(t, fn);
  return {
    all,
    of: (type) => all.filter((e) => e.type === type).map((e) => e.detail),
    stop: () => {
      for (const t of EVENT_TYPES) el.removeEventListener(t, fn);
    },
  };
}

/** Resolves with the detail of the next `type` event, or rejects after `ms`. */
export function nextEvent<T = unknown>(el: EventTarget, type: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      el.removeEventListener(type, on);
      reject(new Error(`no ${type} within ${ms} ms`));
    }, ms);
    const on = (e: Event) => {
      clearTimeout(t);
      el.removeEventListener(type, on);
      resolve((e as CustomEvent<T>).detail);
    };
    el.addEventListener(type, on);
  });
}

export async function hostEl(
  attrs: { autoConnect?: boolean; unreliable?: boolean; noUi?: boolean; userName?: string; threshold?: number } = {},
): Promise<RegistryPeer> {
  const url = await registryUrl();
  const el = await fixture<RegistryPeer>(html`<registry-peer
    base-url=${url}
    role="host"
    user-name=${attrs.userName ?? "Alice"}
    ?unreliable=${attrs.unreliable}
    ?no-ui=${attrs.noUi}
    backpressure-threshold=${attrs.threshold ?? 262144}
    .clientOptions=${FAST}
  ></registry-peer>`);
  if (attrs.autoConnect) el.autoConnect = true;
  return el;
}

/**
 * A connected host/guest pair of elements in this page: the host auto-connects, the guest gets the
 * codes from room-created and auto-connects too. Both have seen peer-open when this resolves.
 */
export async function pair(
  opts: { unreliable?: boolean; threshold?: number; noUi?: boolean } = {},
): Promise<{ host: RegistryPeer; guest: RegistryPeer; hostRec: Recorder; guestRec: Recorder; code: string }> {
  const url = await registryUrl();
  const host = await fixture<RegistryPeer>(html`<registry-peer
    base-url=${url}
    role="host"
    user-name="Alice"
    ?unreliable=${opts.unreliable}
    ?no-ui=${opts.noUi}
    backpressure-threshold=${opts.threshold ?? 262144}
    .clientOptions=${FAST}
  ></registry-peer>`);
  const hostRec = record(host);
  const created = nextEvent<{ code: string; joinCode: string }>(host, "room-created");
  const hostOpen = nextEvent(host, "peer-open", 20_000);
  host.autoConnect = true;
  const { code, joinCode } = await created;
  const guest = await fixture<RegistryPeer>(html`<registry-peer
    base-url=${url}
    role="guest"
    user-name="Bob"
    ?unreliable=${opts.unreliable}
    ?no-ui=${opts.noUi}
    code=${code}
    join-code=${joinCode}
    .clientOptions=${FAST}
  ></registry-peer>`);
  const guestRec = record(guest);
  const guestOpen = nextEvent(guest, "peer-open", 20_000);
  guest.autoConnect = true;
  await Promise.all([hostOpen, guestOpen]);
  return { host, guest, hostRec, guestRec, code };
}

export const shadow = (el: HTMLElement) => el.shadowRoot!;
export const q = <T extends Element = HTMLElement>(el: HTMLElement, sel: string) =>
  el.shadowRoot!.querySelector<T>(sel);
export const statusText = (el: HTMLElement) => q(el, "[part~=status]")?.textContent?.trim() ?? "";
export const buttons = (el: HTMLElement) =>
  [...el.shadowRoot!.querySelectorAll("button")].map((b) => b.textContent!.trim());

export function button(el: HTMLElement, label: string | RegExp): HTMLButtonElement {
  const b = [...el.shadowRoot!.querySelectorAll("button")].find((x) =>
    typeof label === "string" ? x.textContent!.trim() === label : label.test(x.textContent!),
  );
  if (!b) throw new Error(`no button ${label}; have ${buttons(el).join(", ")}`);
  return b;
}

/** Types into one of the element's inputs as a person would (value + input event). */
export function type(el: HTMLElement, name: string, value: string): HTMLInputElement {
  const input = q<HTMLInputElement>(el, `input[name=${name}]`)!;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
  return input;
}

export async function untilPhase(el: RegistryPeer, phase: string, timeout = 15_000): Promise<void> {
  await waitUntil(() => el.phase === phase, `phase ${phase} (now ${el.phase})`, { timeout, interval: 10 });
}

/** A fetchImpl that answers every request with one error envelope (and counts requests). */
export function failingFetch(status: number, code: string | null, extra: Record<string, unknown> = {}) {
  const calls: string[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    calls.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
    const body = code === null ? "teapot" : JSON.stringify({ error: { code, message: "x", ...extra } });
    const headers: Record<string, string> = { "Content-Type": code === null ? "text/plain" : "application/json" };
    if (typeof extra.retryAfterSec === "number") headers["Retry-After"] = String(extra.retryAfterSec);
    return new Response(body, { status, headers });
  };
  return Object.assign(fn, { calls });
}
