/**
 * Setup mistakes a page author can make, found before any request (pure), and the ones only the
 * Registry's answer reveals. Each names the attribute and the fix; the element reports it once
 * as `peer-error` code "config", one console.warn, and the same in its UI. Never echoes a value
 * (ice-servers may carry TURN credentials).
 */
import type { RegistryPeerStrings } from "../strings.ts";

export type ConfigKey = "configNoBaseUrl" | "configBadBaseUrl" | "configNotRegistry" | "configOrigin" | "configRole" | "configIceServers";

export interface ConfigProblem {
  key: ConfigKey;
  /** The attribute to fix. */
  attribute: "base-url" | "role" | "ice-servers";
  /** For the console: what is wrong and how to fix it (English, for the page's developer). */
  fix: string;
}

const P = (key: ConfigKey, attribute: ConfigProblem["attribute"], fix: string): ConfigProblem => ({ key, attribute, fix });

export const CONFIG: Record<ConfigKey, ConfigProblem> = {
  configNoBaseUrl: P("configNoBaseUrl", "base-url", 'base-url is missing: set it to the Registry\'s URL, e.g. <registry-peer base-url="https://registry.example.com">.'),
  configBadBaseUrl: P("configBadBaseUrl", "base-url", "base-url is not a full http(s) URL: write the scheme too, e.g. https://registry.example.com."),
  configNotRegistry: P("configNotRegistry", "base-url", "base-url answered without the Registry's error envelope: it does not point to a Registry (check the host, port and path)."),
  configOrigin: P("configOrigin", "base-url", "the Registry refused this page's origin: add the origin to the Registry's ALLOWED_ORIGINS."),
  configRole: P("configRole", "role", 'role must be "host" or "guest"; remove it to decide from the URL fragment.'),
  configIceServers: P("configIceServers", "ice-servers", 'ice-servers is not a JSON array, e.g. [{"urls":"stun:stun.example.com"}].'),
};

/** The ICE servers of the `ice-servers` attribute, or null when it is not a JSON array. */
export function parseIceServers(raw: string | undefined): RTCIceServer[] | null {
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? (v as RTCIceServer[]) : null;
  } catch {
    return null;
  }
}

/** The first setup mistake in the element's attributes, or null. */
export function checkConfig(baseUrl: string | undefined, role: string | null | undefined, iceServers: string | undefined): ConfigProblem | null {
  if (!baseUrl) return CONFIG.configNoBaseUrl;
  if (!/^https?:\/\/[^/]/i.test(baseUrl) || !URL.canParse(baseUrl)) return CONFIG.configBadBaseUrl;
  if (role && role !== "host" && role !== "guest") return CONFIG.configRole;
  if (parseIceServers(iceServers) === null) return CONFIG.configIceServers;
  return null;
}

/**
 * A failure that shows base-url is wrong: an answer without the Registry's error envelope (the
 * client's "unknown" with an HTTP status under 500), or a refused origin.
 */
export function configFromError(e: { code?: unknown; status?: unknown }): ConfigProblem | null {
  if (e.code === "origin_not_allowed") return CONFIG.configOrigin;
  if (e.code === "unknown" && typeof e.status === "number" && e.status < 500 && e.status !== 429) return CONFIG.configNotRegistry;
  return null;
}

/** The UI's (and peer-error's) message for a problem. */
export const configMessage = (p: ConfigProblem, strings: RegistryPeerStrings): string => strings[p.key];

/** The one console line for a problem (the page's developer reads it). */
export function warnConfig(p: ConfigProblem): void {
  console.warn(`<registry-peer>: ${p.fix}`);
}
