/**
 * The `debug` attribute's console lines: the client's telemetry events, which carry no token,
 * join code, room code, SDP, candidate or credential (routes are patterns like
 * /rooms/:code/offer; only methods, statuses, sizes, latencies, phases and states).
 */
import type { TelemetryEvent } from "../../client/types.ts";

export function debugLog(ev: TelemetryEvent): void {
  const { type, at: _at, ...fields } = ev;
  console.info(`[registry-peer] ${type}`, fields);
}
