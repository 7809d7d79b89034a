/**
 * Setup mistakes a page author can make, found before any request (pure), and the ones only the
 * Registry's answer reveals. Each names the attribute and the fix in one text (the strings'
 * `config*`): the element reports it once as `peer-error` code "config", the same text in its UI
 * and in one console.warn. Never echoes a value (ice-servers may carry TURN credentials).
 */
import { DEFAULT_STRINGS } from "../strings.ts";

export type ConfigKey =
  | "configNoBaseUrl"
  | "configBadBaseUrl"
  | "configNotRegistry"
  | "configOrigin"
  | "configRole"
  | "configIceServers";

export interface ConfigProblem {
  key: ConfigKey;
  /** The attribute to fix. */
  attribute: "base-url" | "role" | "ice-servers";
}

const P = (key: ConfigKey, attribute: ConfigProblem["attribute"]): ConfigProblem => ({ key, attribute });

export const CONFIG: Record<ConfigKey, ConfigProblem> = {
  configNoBaseUrl: P("configNoBaseUrl", "base-url"),
  configBadBaseUrl: P("configBadBaseUrl", "base-url"),
  configNotRegistry: P("configNotRegistry", "base-url"),
  configOrigin: P("configOrigin", "base-url"),
  configRole: P("configRole", "role"),
  configIceServers: P("configIceServers", "ice-servers"),
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
export function checkConfig(
  baseUrl: string | undefined,
  role: string | null | undefined,
  iceServers: string | undefined,
): ConfigProblem | null {
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
  if (e.code === "unknown" && typeof e.status === "number" && e.status < 500 && e.status !== 429)
    return CONFIG.configNotRegistry;
  return null;
}

/** The one console line for a problem (the page's developer reads it: English, whatever the UI's strings). */
export function warnConfig(p: ConfigProblem): void {
  console.warn(`<registry-peer>: ${DEFAULT_STRINGS[p.key]}`);
}
