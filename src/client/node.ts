/**
 * Node's implementations of the injected options, for bots and game servers. Node (>= 20) has
 * fetch, timers, performance and Web Crypto built in; it has no RTCPeerConnection, so the caller
 * passes a W3C one (e.g. `node-datachannel/polyfill`'s). Nothing here imports a WebRTC library:
 * the app picks and installs its own. The element never imports this module, so it is in no
 * browser bundle.
 */
import type { RegistryClientOptions } from "./types.ts";

export type NodeDefaults = Pick<
  RegistryClientOptions,
  | "fetchImpl"
  | "nowMs"
  | "setTimeoutImpl"
  | "clearTimeoutImpl"
  | "randomBytes"
  | "createPeerConnection"
  | "rtcConfiguration"
>;

/**
 * A W3C RTCPeerConnection class with addEventListener (node-datachannel's polyfill, werift).
 * Typed loosely: each library declares its own configuration and event types.
 */
export type PeerConnectionClass = new (cfg: never) => object;

/** Everything but baseUrl; rtcConfiguration defaults to no ICE servers (host candidates only). */
export function nodeDefaults(
  PeerConnection: PeerConnectionClass,
  rtcConfiguration: RTCConfiguration = { iceServers: [] },
): NodeDefaults {
  return {
    fetchImpl: (input, init) => globalThis.fetch(input, init),
    nowMs: () => globalThis.performance.now(),
    setTimeoutImpl: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeoutImpl: (t) => globalThis.clearTimeout(t),
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    // A copy: some implementations normalise (write into) the configuration they are given.
    createPeerConnection: (cfg) => new PeerConnection({ ...cfg } as never) as RTCPeerConnection,
    rtcConfiguration,
  };
}

export { patchWeriftReassembly } from "./werift-fix.ts";
