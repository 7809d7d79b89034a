/**
 * The browser's implementations of the injected options: the ONLY module that touches
 * window.fetch, setTimeout, crypto, performance, RTCPeerConnection and the online/offline events. The element uses it;
 * tests inject mocks instead.
 */
import type { RegistryClientOptions } from "./types.ts";

export type BrowserDefaults = Pick<
  RegistryClientOptions,
  "fetchImpl" | "nowMs" | "setTimeoutImpl" | "clearTimeoutImpl" | "randomBytes" | "createPeerConnection" | "rtcConfiguration" | "network"
>;

/** Everything but baseUrl; rtcConfiguration defaults to no ICE servers (host candidates only). */
export function browserDefaults(rtcConfiguration: RTCConfiguration = { iceServers: [] }): BrowserDefaults {
  return {
    fetchImpl: (input, init) => globalThis.fetch(input, init),
    nowMs: () => globalThis.performance.now(),
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
