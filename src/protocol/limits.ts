/**
 * The Registry's limits (docs/protocol.md, Limits). The server enforces them and the
 * client checks them before sending, from this one module.
 */
export const LIMITS = {
  /** Request body, checked before parsing. */
  bodyBytes: 64 * 1024,
  /** SDP, UTF-8 bytes. */
  sdpBytes: 20 * 1024,
  /** `candidate` string, UTF-8 bytes. */
  candidateBytes: 1024,
  /** `sdpMid`, characters. */
  sdpMidChars: 64,
  sdpMLineIndexMax: 65535,
  /** Distinct candidates stored per side. */
  candidatesPerSide: 40,
  /** Items in one batch post. */
  batchItems: 40,
  /** User names, Unicode code points. */
  userNameMinCodePoints: 1,
  userNameMaxCodePoints: 32,
  /** `reason` on close, characters (our decision: the spec does not cap it). */
  closeReasonChars: 200,
} as const;

/**
 * Longest long-poll hold (docs/protocol.md, Long-poll), seconds. Its own constant as well as a CONFIG_DEFAULTS entry:
 * the client needs only this one, and a bundle that reads it here does not carry the table.
 */
export const LONGPOLL_MAX_SEC = 25;
/** A joined room's lifetime by default (the client sizes its outage deadline with it). */
export const TTL_JOINED_SEC = 300;

/** Configuration defaults (docs/protocol.md, Configuration); both runtimes read these names. */
export const CONFIG_DEFAULTS = {
  PORT: 8787,
  HOST: "127.0.0.1",
  TTL_OPEN_SEC: 900,
  TTL_JOINED_SEC,
  TTL_PAIRED_SEC: 1800,
  TTL_CLOSED_SEC: 60,
  LIMIT_CREATE_PER_MIN: 10,
  LIMIT_PUBLIC_PER_MIN: 60,
  LIMIT_JOIN_PER_MIN: 20,
  /** Wrong join codes per room within any 60 s, all sources together (the room's budget). */
  LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: 100,
  LIMIT_TOKEN_PER_MIN: 300,
  LONGPOLL_MAX_SEC,
  MAX_RESTARTS: 5,
  /**
   * Lifetime of minted TURN credentials. Long enough for a host that waits for its guest (open
   * + joined TTLs); a relay allocation made in time keeps being refreshed past it (coturn, see
   * test/server/coturn.test.ts), and a later ICE restart gets fresh ones from the Registry.
   */
  TURN_TTL_SEC: 3600,
  /** Fresh ICE credentials per access token per minute (`POST /rooms/:code/ice-servers`). */
  LIMIT_ICE_PER_MIN: 10,
  // ---- ceilings of a public Registry (README "Security"); 0 switches one off ----
  /** Wrong join codes per (room, client source) within any 60 s. */
  LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN: 5,
  /** Requests per client IP that name a room without a valid token (404/403/410), any 60 s. */
  LIMIT_PROBE_PER_MIN: 60,
  /** Rooms held at once, tombstones included (Node: one process). */
  MAX_ROOMS: 10_000,
  /** SDP, candidate and name characters stored per room. */
  MAX_ROOM_BYTES: 65_536,
  /** Long-polls held at once: per room, per client IP, in total (Node). */
  MAX_LONGPOLLS_PER_ROOM: 8,
  MAX_LONGPOLLS_PER_IP: 64,
  MAX_LONGPOLLS: 4_000,
  /** Open connections per client IP and in total (Node; total also capped by the fd limit). */
  MAX_CONNECTIONS_PER_IP: 128,
  MAX_CONNECTIONS: 8_000,
  /** Node: request headers, and the whole request with its body, must arrive within. */
  HEADERS_TIMEOUT_SEC: 10,
  REQUEST_TIMEOUT_SEC: 15,
  /** IPv6 clients are grouped by this prefix length for every per-IP limit. */
  IPV6_PREFIX: 64,
} as const;

export const API_VERSION = 1;

/** Extensions the server implements, in the order it advertises them (docs/protocol.md, Extensions). */
export const FEATURES = ["longpoll", "delta", "batch", "end", "restart", "fast", "ice", "offer-watch"] as const;
export type Feature = (typeof FEATURES)[number];

export const HEADERS = {
  version: "X-Registry-Version",
  token: "X-Access-Token",
  features: "X-Registry-Features",
} as const;

/** Parses an `X-Registry-Features` header value into the known features it names. */
export function parseFeatures(value: string | null | undefined): Set<Feature> {
  const out = new Set<Feature>();
  if (!value) return out;
  for (const part of value.split(",")) {
    const f = part.trim().toLowerCase();
    if ((FEATURES as readonly string[]).includes(f)) out.add(f as Feature);
  }
  return out;
}
