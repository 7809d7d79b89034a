/**
 * Bytes per room (MAX_ROOM_BYTES; docs/protocol.md, Limits). Counted in UTF-16 code units
 * (O(1) per string): SDP and candidates are ASCII, so these are bytes; what V8 keeps in memory
 * is at most twice that. Pure.
 */
import { err } from "./room-record.ts";
import type { RoomConfig, RoomRecord, SideCandidates } from "./room-types.ts";

export const sdpChars = (d: { sdp: string } | null) => (d ? d.sdp.length : 0);
export const candidateChars = (c: { candidate: string; sdpMid?: string | null }) =>
  c.candidate.length + (c.sdpMid?.length ?? 0);
export const sideChars = (s: SideCandidates) => s.items.reduce((n, c) => n + candidateChars(c), 0);

/** Characters the room holds now. */
export function roomChars(rec: RoomRecord): number {
  return (
    rec.hostUserName.length +
    (rec.guestUserName?.length ?? 0) +
    sdpChars(rec.offer) +
    sdpChars(rec.answer) +
    sideChars(rec.candidates.host) +
    sideChars(rec.candidates.guest)
  );
}

export function tooBig(rec: RoomRecord, delta: number, config: RoomConfig): boolean {
  return config.maxRoomBytes > 0 && delta > 0 && roomChars(rec) + delta > config.maxRoomBytes;
}

export const roomFull = () => err("body_too_large", { message: "This room holds too much data." });
