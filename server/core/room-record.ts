/**
 * A room record's life (docs/protocol.md, Room lifecycle; Room snapshot; Errors): creation,
 * states and their TTLs, expiry on access, the snapshot, token sides, and the small helpers
 * every op shares. Pure.
 */
import {
  ERROR_STATUS,
  type ErrorCode,
  type Feature,
  type RoomSnapshot,
  type RoomStatus,
} from "../../src/protocol/index.ts";
import { timingSafeEqualHex } from "./crypto.ts";
import type {
  Changed,
  OpContext,
  RoomConfig,
  RoomRecord,
  RoomReply,
  RoomRequest,
  Side,
  SideCandidates,
} from "./room-types.ts";

export const NO_CHANGE: Changed = { version: false, host: false, guest: false };
export const ALL_CHANGED: Changed = { version: true, host: true, guest: true };

/** An error reply; its HTTP status comes from the protocol's table (ERRORS). */
export function err(error: ErrorCode, extra: { message?: string; retryAfterSec?: number } = {}): RoomReply {
  return { status: ERROR_STATUS[error], error, ...extra };
}

/** 410 for a closed room, with the reason its closer gave when it is one we keep. */
export function gone(rec: RoomRecord): RoomReply {
  return rec.closeReason ? { ...err("closed"), closeReason: rec.closeReason } : err("closed");
}

const emptySide = (): SideCandidates => ({ items: [], lastSeq: 0, complete: false });

export function newRoomRecord(req: Extract<RoomRequest, { op: "create" }>, ctx: OpContext): RoomRecord {
  return {
    schema: 1,
    code: req.code,
    status: "open",
    ownerTokenHash: req.ownerTokenHash,
    guestTokenHash: null,
    joinCodeHash: req.joinCodeHash,
    hostUserName: req.hostUserName,
    guestUserName: null,
    offer: req.offer ?? null,
    answer: null,
    version: 1,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    expiresAt: ctx.now + ctx.config.ttlOpenMs,
    restarts: 0,
    candidates: { host: emptySide(), guest: emptySide() },
    wrongJoins: [],
    tokenHits: { host: [], guest: [] },
  };
}

export function bump(rec: RoomRecord, now: number): void {
  rec.version += 1;
  // updatedAt never goes backwards even if the clock does.
  rec.updatedAt = Math.max(now, rec.updatedAt);
}

function ttlFor(status: RoomStatus, config: RoomConfig): number {
  switch (status) {
    case "open":
      return config.ttlOpenMs;
    case "joined":
      return config.ttlJoinedMs;
    case "paired":
      return config.ttlPairedMs;
    case "closed":
      return config.ttlClosedMs;
  }
}

export function enter(rec: RoomRecord, status: RoomStatus, now: number, config: RoomConfig): void {
  rec.status = status;
  if (status === "closed") dropPayload(rec);
  rec.expiresAt = now + ttlFor(status, config);
  bump(rec, now);
}

/**
 * A tombstone answers 410 to everything (but close): it keeps only what that needs, so
 * closed rooms cost little memory (they do not count against MAX_ROOMS).
 */
function dropPayload(rec: RoomRecord): void {
  rec.offer = null;
  rec.answer = null;
  rec.candidates.host.items = [];
  rec.candidates.guest.items = [];
}

/**
 * TTL on access: a live room past its expiry becomes a tombstone from the moment it
 * expired (not from when someone looked), and a tombstone past its time is gone.
 */
export function advanceTime(
  rec: RoomRecord,
  now: number,
  config: RoomConfig,
): { rec: RoomRecord | null; changed: boolean } {
  let changed = false;
  if (rec.status !== "closed" && now >= rec.expiresAt) {
    const expiredAt = rec.expiresAt;
    rec.status = "closed";
    // The players are told why (their 410 carries it): "nobody joined in time", not just "closed".
    rec.closeReason ??= "expired";
    dropPayload(rec);
    rec.expiresAt = expiredAt + config.ttlClosedMs;
    bump(rec, expiredAt);
    changed = true;
  }
  if (rec.status === "closed" && now >= rec.expiresAt) return { rec: null, changed: true };
  return { rec, changed };
}

export function snapshot(rec: RoomRecord): Required<RoomSnapshot> {
  return {
    status: rec.status,
    offer: rec.offer,
    answer: rec.answer,
    hostUserName: rec.hostUserName,
    guestUserName: rec.guestUserName,
    version: rec.version,
    updatedAt: rec.updatedAt,
    expiresAt: rec.expiresAt,
  };
}

/** Which side a token belongs to; both digests are always compared (constant time). */
export function sideOf(rec: RoomRecord, tokenHash: string | null): Side | null {
  if (tokenHash === null) return null;
  const isHost = timingSafeEqualHex(tokenHash, rec.ownerTokenHash);
  const isGuest = rec.guestTokenHash !== null && timingSafeEqualHex(tokenHash, rec.guestTokenHash);
  return isHost ? "host" : isGuest ? "guest" : null;
}

export const has = (config: RoomConfig, f: Feature) => config.features.includes(f);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Query integers (`since`, `wait`): decimal digits only, at most 15 of them (safe integers). */
export function parseQueryInt(s: string | undefined): number | undefined | "bad" {
  if (s === undefined) return undefined;
  return /^\d{1,15}$/.test(s) ? Number(s) : "bad";
}

/** `If-None-Match`: a list of entity tags; returns true if one of them is `"version"` (weak or strong). */
export function etagMatches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  const want = `"${version}"`;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === want);
}

export const etagOf = (rec: RoomRecord) => `"${rec.version}"`;
