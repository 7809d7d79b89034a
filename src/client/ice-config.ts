/**
 * Which ICE servers a session uses, and what to tell a player when nothing connects
 * (issue #10). Pure: no I/O, no timers.
 *
 * The page wins: an `rtcConfiguration` with `iceServers` (even `[]`) is used as given. Without
 * them, the Registry's servers (create / join / ice-servers answers) are used. Relay-only
 * (`relayOnly`, or the page's own `iceTransportPolicy: "relay"`) sets `iceTransportPolicy:
 * "relay"` on whatever servers that gives.
 */
import { type IceGrant, offersRelay } from "../protocol/index.ts";

/** The page set its own ICE servers: the Registry's are not used. */
export function pageOwnsIce(page: RTCConfiguration): boolean {
  return page.iceServers !== undefined;
}

export function isRelayOnly(page: RTCConfiguration, relayOnly: boolean | undefined): boolean {
  return relayOnly === true || page.iceTransportPolicy === "relay";
}

/** The RTCConfiguration for a session: the page's, the Registry's servers if the page set none, relay-only applied. */
export function sessionConfig(page: RTCConfiguration, grant: IceGrant | null, relayOnly: boolean): RTCConfiguration {
  const out: RTCConfiguration = { ...page };
  if (!pageOwnsIce(page) && grant) out.iceServers = grant.iceServers;
  if (relayOnly) out.iceTransportPolicy = "relay";
  return out;
}

/** Does this configuration give ICE a TURN relay (a turn:/turns: URL with credentials)? */
export function relayOffered(cfg: RTCConfiguration): boolean {
  return offersRelay(cfg.iceServers ?? []);
}

/** How long before their expiry the Registry's credentials count as expired (a restart takes a while). */
export const ICE_REFRESH_MARGIN_MS = 60_000;

/** The Registry's credentials run out (within the margin): fetch fresh ones before an ICE restart. */
export function grantExpiring(grant: IceGrant | null, now: number): boolean {
  return grant?.iceExpiresAt != null && grant.iceExpiresAt - ICE_REFRESH_MARGIN_MS <= now;
}

export type ConnectFailure = "relay_only_without_relay" | "no_relay" | "relay_failed";

/** Why a connection could not be made, as far as this side can tell from its configuration. */
export function failureCause(cfg: RTCConfiguration): ConnectFailure {
  if (relayOffered(cfg)) return "relay_failed";
  return cfg.iceTransportPolicy === "relay" ? "relay_only_without_relay" : "no_relay";
}

/** What the player is told (peer-error `connection_failed`): what happened, in plain words. */
export const CONNECT_FAILURE_MESSAGES: Record<ConnectFailure, string> = {
  no_relay:
    "Could not connect to the other player: your two networks do not allow a direct connection, and a relay (TURN) server is needed but none is configured.",
  relay_failed:
    "Could not connect to the other player, not even through the relay (TURN) server: the relay could not be reached or did not accept the connection.",
  relay_only_without_relay:
    "Relay-only mode is on, but no relay (TURN) server is configured, so the players cannot connect.",
};
