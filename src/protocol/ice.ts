/**
 * ICE servers handed out by the Registry (feature `ice`, issue #10): the wire shape of the
 * `iceServers` / `iceExpiresAt` fields on create, join and `POST /rooms/:code/ice-servers`,
 * the STUN default and the shared validators. Server and client read them from here.
 */

/** One entry of `RTCConfiguration.iceServers`, as the Registry sends it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What create, join and the ice-servers endpoint carry. */
export interface IceGrant {
  iceServers: IceServer[];
  /** When the TURN credentials in `iceServers` stop working (ms since epoch); null: nothing expires. */
  iceExpiresAt: number | null;
}

/**
 * `STUN_URLS` when unset: Cloudflare's and Google's public STUN servers. Both are free,
 * anycast, long-lived and need no account; two operators, so one outage does not leave a
 * player with host candidates only.
 */
export const DEFAULT_STUN_URLS = ["stun:stun.cloudflare.com:3478", "stun:stun.l.google.com:19302"] as const;

/** Cloudflare's TURN API, when `CF_TURN_API_BASE` is unset. */
export const DEFAULT_CF_TURN_API_BASE = "https://rtc.live.cloudflare.com";

/** Bounds of the ICE-related settings. */
export const ICE_LIMITS = {
  /** `TURN_TTL_SEC` range (1 s is for tests; 7 days is the longest we let a credential live). */
  ttlMinSec: 1,
  ttlMaxSec: 7 * 24 * 3600,
  /** `TURN_SECRET` shortest length: a short secret could be brute-forced from one credential. */
  secretMinChars: 16,
  /** Entries in `STUN_URLS` / `TURN_URLS`, and servers / URLs accepted from a provider. */
  maxUrls: 16,
  maxServers: 16,
  /** Longest URL, username or credential accepted (from config or a provider). */
  maxFieldChars: 512,
} as const;

/** `stun:` / `stuns:` / `turn:` / `turns:` host[:port], TURN with an optional `?transport=udp|tcp` (RFC 7064, 7065). */
const ICE_URL_RE =
  /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/;

/** The scheme of a well-formed ICE server URL, or null. */
export function iceUrlScheme(url: unknown): "stun" | "stuns" | "turn" | "turns" | null {
  if (typeof url !== "string" || url.length > ICE_LIMITS.maxFieldChars) return null;
  const m = ICE_URL_RE.exec(url);
  if (!m) return null;
  const scheme = m[1] as "stun" | "stuns" | "turn" | "turns";
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return null;
  // A transport parameter only means something for TURN.
  if (m[4] !== undefined && !scheme.startsWith("turn")) return null;
  return scheme;
}

const isRelayScheme = (s: string | null) => s === "turn" || s === "turns";

/** Does this list offer a relay (a TURN URL that has credentials)? */
export function offersRelay(servers: readonly IceServer[]): boolean {
  return servers.some(
    (s) =>
      typeof s.username === "string" &&
      typeof s.credential === "string" &&
      (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => isRelayScheme(iceUrlScheme(u))),
  );
}

/**
 * One server entry from untrusted JSON (a provider's answer, or the Registry's as the
 * client reads it): its well-formed URLs kept, the others dropped; null when none is left,
 * a field has the wrong type, or a TURN URL comes without credentials.
 */
export function parseIceServer(x: unknown): IceServer | null {
  if (!x || typeof x !== "object" || Array.isArray(x)) return null;
  const { urls, username, credential } = x as Record<string, unknown>;
  const list = typeof urls === "string" ? [urls] : Array.isArray(urls) ? urls.slice(0, ICE_LIMITS.maxUrls) : null;
  if (!list) return null;
  const good = list.filter((u): u is string => iceUrlScheme(u) !== null);
  if (good.length === 0) return null;
  const field = (v: unknown) => v === undefined || (typeof v === "string" && v.length <= ICE_LIMITS.maxFieldChars);
  if (!field(username) || !field(credential)) return null;
  const hasCreds = typeof username === "string" && typeof credential === "string";
  if (!hasCreds && good.some((u) => isRelayScheme(iceUrlScheme(u)))) return null;
  const out: IceServer = { urls: good };
  if (hasCreds) {
    out.username = username;
    out.credential = credential;
  }
  return out;
}

/** `{ iceServers, iceExpiresAt }` from a create / join / ice-servers answer; null when absent or unusable. */
export function parseIceGrant(body: unknown): IceGrant | null {
  if (!body || typeof body !== "object") return null;
  const { iceServers, iceExpiresAt } = body as Record<string, unknown>;
  if (!Array.isArray(iceServers)) return null;
  const servers: IceServer[] = [];
  for (const s of iceServers.slice(0, ICE_LIMITS.maxServers)) {
    const p = parseIceServer(s);
    if (p) servers.push(p);
  }
  const exp = typeof iceExpiresAt === "number" && Number.isFinite(iceExpiresAt) ? iceExpiresAt : null;
  return { iceServers: servers, iceExpiresAt: exp };
}
