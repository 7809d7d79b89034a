/**
 * Registry configuration (registry-api.md §10), parsed from an env-like record so both
 * runtimes share it: Node passes `process.env`, a Worker passes its `env` bindings
 * (`vars`). Pure: no I/O, no globals. A malformed value throws at startup (fail fast)
 * with the variable's name, never silently falls back to a default.
 *
 * A rate limit of 0 switches that limit off (tests and benchmarks only, §10).
 */
import { CONFIG_DEFAULTS, DEFAULT_CF_TURN_API_BASE, DEFAULT_STUN_URLS, FEATURES, ICE_LIMITS, iceUrlScheme, type Feature } from "../../src/protocol/index.ts";
import { parseTrustedProxies, type Cidr } from "./ip.ts";

export type EnvLike = Record<string, string | undefined>;

export interface AllowedOrigins {
  /** `ALLOWED_ORIGINS=*`: any origin. */
  any: boolean;
  /** Exact origins from the list; empty with `any: false` means "the default local rule". */
  list: string[];
  /** True when ALLOWED_ORIGINS is unset: allow http://localhost, 127.0.0.1, [::1] on any port. */
  defaultLocal: boolean;
}

export interface RegistryConfig {
  port: number;
  host: string;
  allowedOrigins: AllowedOrigins;
  /** Milliseconds. */
  ttlOpenMs: number;
  ttlJoinedMs: number;
  ttlPairedMs: number;
  /** Tombstone lifetime; 0 = a closed room is gone at once. */
  ttlClosedMs: number;
  limitCreatePerMin: number;
  limitPublicPerMin: number;
  limitJoinPerMin: number;
  limitWrongJoinPerRoomPerMin: number;
  limitTokenPerMin: number;
  /** Longest long-poll hold; 0 = never hold (answer at once). */
  longpollMaxMs: number;
  /** 0 = unlimited restarts (a limit of 0 is off). */
  maxRestarts: number;
  /** `TRUST_PROXY`: proxies whose X-Forwarded-For is believed (Node); empty = none. */
  trustedProxies: Cidr[];
  limitWrongJoinPerSourcePerMin: number;
  /** Requests naming a room without a valid token, per client IP (no existence oracle). */
  limitProbePerMin: number;
  /** Ceilings (README "Security"); 0 = off. */
  maxRooms: number;
  maxRoomBytes: number;
  maxLongpollsPerRoom: number;
  maxLongpollsPerIp: number;
  maxLongpolls: number;
  maxConnectionsPerIp: number;
  maxConnections: number;
  /** Node: milliseconds for the request headers, and for the whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** IPv6 prefix length grouping clients for per-IP limits. */
  ipv6Prefix: number;
  /** Extensions served and advertised (test switch REGISTRY_FEATURES). */
  features: Feature[];
  /** Fresh ICE credentials per token per minute; 0 = off. */
  limitIcePerMin: number;
  ice: IceConfig;
}

/**
 * Where players' ICE servers come from (feature `ice`). At most one TURN source: coturn's
 * REST scheme (a shared secret) or Cloudflare's TURN API (a key and an API token).
 * Secrets live only here and in the minter: no error message or log line carries them.
 */
export interface IceConfig {
  stunUrls: string[];
  turn: { urls: string[]; secret: string } | null;
  cloudflare: { keyId: string; apiToken: string; apiBase: string } | null;
  ttlSec: number;
}

function num(env: EnvLike, name: keyof typeof CONFIG_DEFAULTS, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return CONFIG_DEFAULTS[name] as number;
  const s = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(s)) throw new Error(`config: ${name} must be a non-negative number`);
  const n = Number(s);
  if (opts.integer && !Number.isInteger(n)) throw new Error(`config: ${name} must be an integer`);
  if (opts.min !== undefined && n < opts.min) throw new Error(`config: ${name} must be >= ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new Error(`config: ${name} must be <= ${opts.max}`);
  return n;
}

function parseOrigins(raw: string | undefined): AllowedOrigins {
  if (raw === undefined || raw.trim() === "") return { any: false, list: [], defaultLocal: true };
  const parts = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.includes("*")) return { any: true, list: [], defaultLocal: false };
  for (const p of parts) {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new Error(`config: ALLOWED_ORIGINS entry is not an origin: ${p}`);
    }
    // An origin is scheme://host[:port] and nothing more; a path would never match a browser Origin.
    if (u.origin === "null" || u.origin !== p.replace(/\/$/, "")) throw new Error(`config: ALLOWED_ORIGINS entry is not an origin: ${p}`);
  }
  return { any: false, list: parts.map((p) => p.replace(/\/$/, "")), defaultLocal: false };
}

/** `REGISTRY_FEATURES`: unset/"all" = every one, "none" = MVP, or a comma list of names. */
function parseFeatureSwitch(raw: string | undefined): Feature[] {
  if (raw === undefined || raw.trim() === "" || raw.trim().toLowerCase() === "all") return [...FEATURES];
  if (raw.trim().toLowerCase() === "none") return [];
  const wanted = raw.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const w of wanted) if (!(FEATURES as readonly string[]).includes(w)) throw new Error(`config: REGISTRY_FEATURES has an unknown feature: ${w}`);
  return FEATURES.filter((f) => wanted.includes(f));
}

/** A comma list of ICE URLs whose schemes are in `allowed`; the message names the variable and the entry's position only. */
function iceUrls(env: EnvLike, name: "STUN_URLS" | "TURN_URLS", allowed: readonly string[]): string[] {
  const raw = env[name];
  const parts = (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length > ICE_LIMITS.maxUrls) throw new Error(`config: ${name} has more than ${ICE_LIMITS.maxUrls} entries`);
  parts.forEach((u, i) => {
    const scheme = iceUrlScheme(u);
    if (scheme === null || !allowed.includes(scheme)) throw new Error(`config: ${name} entry ${i + 1} is not a ${allowed.join(":/")}: URL (scheme:host[:port])`);
  });
  return parts;
}

function parseIce(env: EnvLike): IceConfig {
  // Unset = the public defaults; set but empty = no STUN at all.
  const stunUrls = env.STUN_URLS === undefined ? [...DEFAULT_STUN_URLS] : iceUrls(env, "STUN_URLS", ["stun", "stuns"]);
  const turnUrls = iceUrls(env, "TURN_URLS", ["turn", "turns"]);
  const secret = env.TURN_SECRET ?? "";
  if ((turnUrls.length > 0) !== (secret !== "")) throw new Error("config: TURN_URLS and TURN_SECRET must be set together");
  if (secret !== "" && secret.length < ICE_LIMITS.secretMinChars) throw new Error(`config: TURN_SECRET must be at least ${ICE_LIMITS.secretMinChars} characters`);
  const keyId = env.CF_TURN_KEY_ID?.trim() ?? "";
  const apiToken = env.CF_TURN_API_TOKEN?.trim() ?? "";
  if ((keyId !== "") !== (apiToken !== "")) throw new Error("config: CF_TURN_KEY_ID and CF_TURN_API_TOKEN must be set together");
  if (keyId !== "" && !/^[A-Za-z0-9_-]{1,128}$/.test(keyId)) throw new Error("config: CF_TURN_KEY_ID must be letters, digits, - or _");
  if (keyId !== "" && turnUrls.length > 0) throw new Error("config: set TURN_URLS/TURN_SECRET or CF_TURN_KEY_ID/CF_TURN_API_TOKEN, not both");
  const baseRaw = env.CF_TURN_API_BASE?.trim() || DEFAULT_CF_TURN_API_BASE;
  let apiBase: string;
  try {
    const u = new URL(baseRaw);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
    apiBase = u.href.replace(/\/+$/, "");
  } catch {
    throw new Error("config: CF_TURN_API_BASE must be an http(s) URL");
  }
  const ttl = num(env, "TURN_TTL_SEC", { integer: true, min: ICE_LIMITS.ttlMinSec, max: ICE_LIMITS.ttlMaxSec });
  return {
    stunUrls,
    turn: turnUrls.length > 0 ? { urls: turnUrls, secret } : null,
    cloudflare: keyId !== "" ? { keyId, apiToken, apiBase } : null,
    ttlSec: ttl,
  };
}

export function parseConfig(env: EnvLike = {}): RegistryConfig {
  // TTLs accept fractions of a second so tests can use short lifetimes; they must be > 0
  // (a room that expires on creation is useless), except the tombstone, which may be 0.
  const ttl = (name: "TTL_OPEN_SEC" | "TTL_JOINED_SEC" | "TTL_PAIRED_SEC") => {
    const n = num(env, name, { max: 365 * 24 * 3600 });
    if (n <= 0) throw new Error(`config: ${name} must be > 0`);
    return Math.round(n * 1000);
  };
  // Node's HTTP timeouts: > 0 (fractions for tests), at most 10 minutes.
  const timeout = (name: "HEADERS_TIMEOUT_SEC" | "REQUEST_TIMEOUT_SEC") => {
    const n = num(env, name, { max: 600 });
    if (n <= 0) throw new Error(`config: ${name} must be > 0`);
    return Math.round(n * 1000);
  };
  const perMin = (name: keyof typeof CONFIG_DEFAULTS) => num(env, name, { integer: true, max: 1_000_000 });
  return {
    port: num(env, "PORT", { integer: true, max: 65535 }),
    host: env.HOST?.trim() || CONFIG_DEFAULTS.HOST,
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS),
    ttlOpenMs: ttl("TTL_OPEN_SEC"),
    ttlJoinedMs: ttl("TTL_JOINED_SEC"),
    ttlPairedMs: ttl("TTL_PAIRED_SEC"),
    ttlClosedMs: Math.round(num(env, "TTL_CLOSED_SEC", { max: 365 * 24 * 3600 }) * 1000),
    limitCreatePerMin: perMin("LIMIT_CREATE_PER_MIN"),
    limitPublicPerMin: perMin("LIMIT_PUBLIC_PER_MIN"),
    limitJoinPerMin: perMin("LIMIT_JOIN_PER_MIN"),
    limitWrongJoinPerRoomPerMin: perMin("LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN"),
    limitTokenPerMin: perMin("LIMIT_TOKEN_PER_MIN"),
    longpollMaxMs: Math.round(num(env, "LONGPOLL_MAX_SEC", { max: 3600 }) * 1000),
    maxRestarts: num(env, "MAX_RESTARTS", { integer: true, max: 1_000_000 }),
    trustedProxies: parseTrustedProxies(env.TRUST_PROXY),
    limitWrongJoinPerSourcePerMin: perMin("LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN"),
    limitProbePerMin: perMin("LIMIT_PROBE_PER_MIN"),
    maxRooms: num(env, "MAX_ROOMS", { integer: true, max: 100_000_000 }),
    maxRoomBytes: num(env, "MAX_ROOM_BYTES", { integer: true, max: 1_000_000_000 }),
    maxLongpollsPerRoom: num(env, "MAX_LONGPOLLS_PER_ROOM", { integer: true, max: 1_000_000 }),
    maxLongpollsPerIp: num(env, "MAX_LONGPOLLS_PER_IP", { integer: true, max: 1_000_000 }),
    maxLongpolls: num(env, "MAX_LONGPOLLS", { integer: true, max: 10_000_000 }),
    maxConnectionsPerIp: num(env, "MAX_CONNECTIONS_PER_IP", { integer: true, max: 1_000_000 }),
    maxConnections: num(env, "MAX_CONNECTIONS", { integer: true, max: 10_000_000 }),
    headersTimeoutMs: timeout("HEADERS_TIMEOUT_SEC"),
    requestTimeoutMs: timeout("REQUEST_TIMEOUT_SEC"),
    ipv6Prefix: num(env, "IPV6_PREFIX", { integer: true, min: 1, max: 128 }),
    features: parseFeatureSwitch(env.REGISTRY_FEATURES),
    limitIcePerMin: perMin("LIMIT_ICE_PER_MIN"),
    ice: parseIce(env),
  };
}

/** §7: is this page origin allowed to call the Registry? (A missing Origin is handled by the caller.) */
export function isOriginAllowed(origin: string, allowed: AllowedOrigins): boolean {
  if (allowed.any) return true;
  if (!allowed.defaultLocal) return allowed.list.includes(origin);
  // Default rule: plain http, host exactly localhost / 127.0.0.1 / [::1], any port, nothing else
  // (no path, no userinfo). Parsed strictly by hand so look-alikes such as
  // http://localhost.evil.example or http://127.0.0.1.nip.io never match.
  const m = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?$/.exec(origin);
  if (!m) return false;
  if (m[2] !== undefined) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return false;
  }
  return true;
}
