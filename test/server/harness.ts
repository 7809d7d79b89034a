/**
 * Starts a Registry for the server tests, on the runtime named by REGISTRY_RUNTIME
 * ("node", the default, or "workerd"). Tests talk to it over real HTTP only; the one
 * runtime-specific thing they may read is `logs()` (the §9 log lines), and they must skip
 * log assertions when `canCaptureLogs` is false.
 */
import { startRegistry } from "../../server/node/registry.ts";

export type Runtime = "node" | "workerd";

export interface TestServer {
  url: string;
  runtime: Runtime;
  /** True when `logs()` returns the server's request log lines. */
  canCaptureLogs: boolean;
  logs(): string[];
  close(): Promise<void>;
}

export const RUNTIME: Runtime = process.env.REGISTRY_RUNTIME === "workerd" ? "workerd" : "node";

/**
 * Headers that make a request come from client IP `ip`, for per-IP limit tests: Node reads
 * X-Forwarded-For (only with TRUST_PROXY set); Workers read CF-Connecting-IP (set by
 * Cloudflare's edge; locally Miniflare passes the client's value through) and never
 * X-Forwarded-For.
 */
export function fromIp(ip: string): Record<string, string> {
  return RUNTIME === "workerd" ? { "cf-connecting-ip": ip } : { "x-forwarded-for": ip };
}

/**
 * Defaults every test server gets unless the test overrides them: per-IP rate limits and
 * per-IP ceilings off (each test of one turns it on), so tests that create many rooms or
 * open many connections from one IP do not trip them. Everything else is the §10 default.
 */
export const TEST_DEFAULTS: Record<string, string> = {
  LIMIT_CREATE_PER_MIN: "0",
  LIMIT_PUBLIC_PER_MIN: "0",
  LIMIT_JOIN_PER_MIN: "0",
  LIMIT_TOKEN_PER_MIN: "0",
  LIMIT_ICE_PER_MIN: "0",
  LIMIT_PROBE_PER_MIN: "0",
  MAX_CONNECTIONS_PER_IP: "0",
  MAX_LONGPOLLS_PER_IP: "0",
};

/** TRUST_PROXY for tests that vary the client IP with fromIp(): the test itself, on loopback, is the trusted proxy. */
export const LOOPBACK_PROXY = { TRUST_PROXY: "127.0.0.1" } as const;

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const merged = { ...TEST_DEFAULTS, ...env };
  if (RUNTIME === "node") {
    const lines: string[] = [];
    const r = await startRegistry({ port: 0, host: "127.0.0.1", env: merged, log: (l) => lines.push(l) });
    return { url: r.url, runtime: "node", canCaptureLogs: true, logs: () => [...lines], close: () => r.close() };
  }
  // ---- workerd ------------------------------------------------------------------------
  // Owned by the Workers engineer: server/worker/worker.ts under Miniflare, via workerd-harness.ts.
  // Its logs are whatever the Worker writes to stdout/stderr.
  const { startWorkerd } = await import("./workerd-harness.ts");
  const w = await startWorkerd(merged);
  return { url: w.url, runtime: "workerd", canCaptureLogs: true, logs: () => [...w.logs], close: () => w.close() };
}
