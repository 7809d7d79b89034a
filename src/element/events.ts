/** The detail types of the events `<registry-peer>` fires, and their entries in `HTMLElementEventMap`. */
import type { ClientPhase } from "../client/types.ts";

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

/** Event name → detail type, for `emit()` and `HTMLElementEventMap`. */
export interface RegistryPeerEventDetails {
  "phase-change": PhaseChangeDetail;
  "room-created": RoomCreatedDetail;
  "peer-open": void;
  packet: PacketDetail;
  drain: void;
  "peer-close": PeerCloseDetail;
  "peer-error": PeerErrorDetail;
}

declare global {
  interface HTMLElementEventMap {
    "phase-change": CustomEvent<PhaseChangeDetail>;
    "room-created": CustomEvent<RoomCreatedDetail>;
    "peer-open": CustomEvent<void>;
    packet: CustomEvent<PacketDetail>;
    drain: CustomEvent<void>;
    "peer-close": CustomEvent<PeerCloseDetail>;
    "peer-error": CustomEvent<PeerErrorDetail>;
  }
}

type VoidEvent = { [K in keyof RegistryPeerEventDetails]: RegistryPeerEventDetails[K] extends void ? K : never }[keyof RegistryPeerEventDetails];

/** Dispatches one of the element's events (bubbling and composed, like the built-in ones). */
export function emit(target: EventTarget, type: VoidEvent): void;
export function emit<K extends keyof RegistryPeerEventDetails>(target: EventTarget, type: K, detail: RegistryPeerEventDetails[K]): void;
export function emit(target: EventTarget, type: string, detail?: unknown): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}
