/** The detail types of the events `<registry-peer>` fires, and their entries in `HTMLElementEventMap`. */
import type { ClientPhase, ConnectionStats, IceRoute, ReconnectReason } from "../client/types.ts";

export interface PhaseChangeDetail {
  phase: ClientPhase;
  previous: ClientPhase;
}
export interface RoomCreatedDetail {
  code: string;
  /** The 8 characters, as the Registry returns them (show them with `formatJoinCode`). */
  joinCode: string;
  expiresAt: number;
  /** This page's URL with both codes in the fragment (never sent to any server). */
  shareUrl: string;
}
/** `peer-open`'s detail. */
export interface PeerOpenDetail {
  /** The selected candidate pair: local/remote type (host, srflx, prflx, relay), protocol, relayed. Null when the browser does not say. */
  route: IceRoute | null;
}
export interface PacketDetail {
  data: ArrayBuffer | string;
  reliable: boolean;
}
export interface PeerCloseDetail {
  reason: string;
}
export interface PeerErrorDetail {
  /** An error code of the client, or "config" for a setup mistake of the page. */
  code: string;
  /** A human message (the same the built-in UI shows). Never contains secrets. */
  message: string;
  retryable: boolean;
  retryAfterSec?: number;
  /** code "config": the attribute to fix (`base-url`, `role` or `ice-servers`). */
  attribute?: string;
}

/** `reconnecting`'s detail: why the open connection is being recovered. */
export interface ReconnectingDetail {
  reason: ReconnectReason;
}
/** `reconnected`'s detail: how long the recovery took. */
export interface ReconnectedDetail {
  afterMs: number;
}
/** `stats`'s detail: live connection quality (the same as `getStats()`). */
export interface StatsDetail extends ConnectionStats {}

/** Event name → detail type, for `emit()` and `HTMLElementEventMap`. */
export interface RegistryPeerEventDetails {
  "phase-change": PhaseChangeDetail;
  "room-created": RoomCreatedDetail;
  "peer-open": PeerOpenDetail;
  packet: PacketDetail;
  drain: void;
  "peer-close": PeerCloseDetail;
  "peer-error": PeerErrorDetail;
  reconnecting: ReconnectingDetail;
  reconnected: ReconnectedDetail;
  stats: StatsDetail;
}

declare global {
  interface HTMLElementEventMap {
    "phase-change": CustomEvent<PhaseChangeDetail>;
    "room-created": CustomEvent<RoomCreatedDetail>;
    "peer-open": CustomEvent<PeerOpenDetail>;
    packet: CustomEvent<PacketDetail>;
    drain: CustomEvent<void>;
    "peer-close": CustomEvent<PeerCloseDetail>;
    "peer-error": CustomEvent<PeerErrorDetail>;
    reconnecting: CustomEvent<ReconnectingDetail>;
    reconnected: CustomEvent<ReconnectedDetail>;
    stats: CustomEvent<StatsDetail>;
  }
}

type VoidEvent = {
  [K in keyof RegistryPeerEventDetails]: RegistryPeerEventDetails[K] extends void ? K : never;
}[keyof RegistryPeerEventDetails];

/** Dispatches one of the element's events (bubbling and composed, like the built-in ones). */
export function emit(target: EventTarget, type: VoidEvent): void;
export function emit<K extends keyof RegistryPeerEventDetails>(
  target: EventTarget,
  type: K,
  detail: RegistryPeerEventDetails[K],
): void;
export function emit(target: EventTarget, type: string, detail?: unknown): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}
