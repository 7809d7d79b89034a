/**
 * The browser's implementations of the injected options: the ONLY module that touches
 * window.fetch, setTimeout, crypto, performance, RTCPeerConnection and the online/offline events. The element uses it;
 * tests inject mocks instead.
 */
import type { RegistryClientOptions } from "./types.ts";

export type BrowserDefaults = Pick<
  RegistryClientOptions,
  | "fetchImpl"
  | "nowMs"
  | "wallClockMs"
  | "setTimeoutImpl"
  | "clearTimeoutImpl"
  | "randomBytes"
  | "createPeerConnection"
  | "rtcConfiguration"
  | "network"
>;

/**
 * Everything but baseUrl. rtcConfiguration defaults to `{}`: no iceServers of the page's own, so
 * the Registry's are used (pass `{ iceServers: [...] }` to use yours instead).
 */
export function browserDefaults(rtcConfiguration: RTCConfiguration = {}): BrowserDefaults {
  return {
    fetchImpl: (input, init) => globalThis.fetch(input, init),
    nowMs: () => globalThis.performance.now(),
    wallClockMs: () => Date.now(),
    setTimeoutImpl: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeoutImpl: (t) => globalThis.clearTimeout(t as number),
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    createPeerConnection: (cfg) => new RTCPeerConnection(cfg),
    rtcConfiguration,
    network: {
      online: () => globalThis.navigator.onLine !== false,
      listen: (onChange) => {
        const on = () => onChange(true);
        const off = () => onChange(false);
        globalThis.addEventListener("online", on);
        globalThis.addEventListener("offline", off);
        return () => {
          globalThis.removeEventListener("online", on);
          globalThis.removeEventListener("offline", off);
        };
      },
    },
  };
}
