/**
 * Per-player ICE servers (feature `ice`, issue #10), on WebCrypto and an injected fetch only,
 * so the same code runs on Node and in workerd.
 *
 * - STUN: the configured URLs (`STUN_URLS`), no credentials.
 * - coturn (`TURN_URLS` + `TURN_SECRET`): the TURN REST scheme coturn implements with
 *   `use-auth-secret`: username `<unix expiry>:<random id>`, credential
 *   base64(HMAC-SHA1(secret, username)). Minting is local and costs ~no time.
 * - Cloudflare (`CF_TURN_KEY_ID` + `CF_TURN_API_TOKEN`): one call to Cloudflare's TURN API
 *   with a timeout. If it fails, the player gets STUN only and one log line says so
 *   (the provider and a reason word; never the token, the key id or the answer).
 *
 * Secrets never leave this module except as the minted credential itself.
 */
import type { IceConfig } from "./config.ts";
import { ICE_LIMITS, parseIceServer, type IceGrant, type IceServer } from "../../src/protocol/index.ts";
import { base64url, randomBytes as cryptoRandomBytes, type RandomBytes } from "./crypto.ts";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface IceMinterDeps {
  fetch?: FetchLike;
  now?: () => number;
  randomBytes?: RandomBytes;
  log?: (line: string) => void;
  /** How long the Cloudflare API may take before the player gets STUN only. */
  cloudflareTimeoutMs?: number;
}

export type IceMinter = () => Promise<IceGrant>;

/** Long enough for a slow API answer, short enough that create/join stay usable when it hangs. */
export const CLOUDFLARE_TIMEOUT_MS = 2500;

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin);
}

/** base64(HMAC-SHA1(secret, username)): the TURN REST credential coturn checks. */
export async function turnRestCredential(key: CryptoKey, username: string): Promise<string> {
  return base64(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username))));
}

export function importTurnSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
}

export function createIceMinter(cfg: IceConfig, deps: IceMinterDeps = {}): IceMinter {
  const now = deps.now ?? Date.now;
  const rand = deps.randomBytes ?? cryptoRandomBytes;
  const log = deps.log ?? (() => {});
  const stun: IceServer[] = cfg.stunUrls.length > 0 ? [{ urls: [...cfg.stunUrls] }] : [];
  const stunOnly = (): IceGrant => ({
    iceServers: stun.map((s) => ({ urls: [...(s.urls as string[])] })),
    iceExpiresAt: null,
  });

  const turn = cfg.turn;
  if (turn) {
    // Imported once, on first use, and kept as the key itself: on workerd a promise made while
    // serving one request must not be awaited by another.
    let key: CryptoKey | undefined;
    return async () => {
      key ??= await importTurnSecret(turn.secret);
      const expirySec = Math.floor(now() / 1000) + cfg.ttlSec;
      // The id part only makes each player's username distinct (coturn logs and quotas key on it).
      const username = `${expirySec}:${base64url(rand(9))}`;
      const credential = await turnRestCredential(key, username);
      return {
        iceServers: [...stunOnly().iceServers, { urls: [...turn.urls], username, credential }],
        iceExpiresAt: expirySec * 1000,
      };
    };
  }

  const cf = cfg.cloudflare;
  if (cf) {
    const doFetch: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
    const timeoutMs = deps.cloudflareTimeoutMs ?? CLOUDFLARE_TIMEOUT_MS;
    const url = `${cf.apiBase}/v1/turn/keys/${encodeURIComponent(cf.keyId)}/credentials/generate-ice-servers`;
    const fallback = (reason: string): IceGrant => {
      log(JSON.stringify({ t: new Date(now()).toISOString(), event: "ice_fallback", provider: "cloudflare", reason }));
      return stunOnly();
    };
    return async () => {
      const t0 = now();
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), timeoutMs);
      try {
        let res: Response;
        try {
          res = await doFetch(url, {
            method: "POST",
            headers: { authorization: `Bearer ${cf.apiToken}`, "content-type": "application/json" },
            body: JSON.stringify({ ttl: cfg.ttlSec }),
            signal: ctrl.signal,
          });
        } catch {
          return fallback(ctrl.signal.aborted ? "timeout" : "network");
        }
        if (!res.ok) {
          res.body?.cancel().catch(() => {});
          return fallback(`http_${res.status}`);
        }
        let body: unknown;
        try {
          body = await res.json();
        } catch {
          return fallback(ctrl.signal.aborted ? "timeout" : "bad_response");
        }
        const servers = cloudflareServers(body);
        if (!servers) return fallback("bad_response");
        // Our STUN first (if any), then Cloudflare's list; the same URL never twice.
        const seen = new Set<string>();
        const out: IceServer[] = [];
        for (const s of [...stunOnly().iceServers, ...servers]) {
          const urls = (s.urls as string[]).filter((u) => !seen.has(u));
          for (const u of urls) seen.add(u);
          if (urls.length > 0) out.push({ ...s, urls });
        }
        return { iceServers: out, iceExpiresAt: t0 + cfg.ttlSec * 1000 };
      } finally {
        clearTimeout(timer);
      }
    };
  }

  return async () => stunOnly();
}

/**
 * Cloudflare answers `{ iceServers: {...} }` (`credentials/generate`) or `{ iceServers: [...] }`
 * (`generate-ice-servers`): both are read. URLs on port 53 are dropped (browsers block that
 * port and would only time out on them, as Cloudflare's own docs advise). Null when the
 * answer holds no usable relay.
 */
export function cloudflareServers(body: unknown): IceServer[] | null {
  if (!body || typeof body !== "object") return null;
  const raw = (body as { iceServers?: unknown }).iceServers;
  const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? [raw] : null;
  if (!list) return null;
  const out: IceServer[] = [];
  for (const item of list.slice(0, ICE_LIMITS.maxServers)) {
    const s = parseIceServer(item);
    if (!s) continue;
    const urls = (s.urls as string[]).filter((u) => !/:53(\?|$)/.test(u));
    if (urls.length > 0) out.push({ ...s, urls });
  }
  const relay = out.some((s) => s.username !== undefined && (s.urls as string[]).some((u) => u.startsWith("turn")));
  return relay ? out : null;
}
