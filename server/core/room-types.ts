/**
 * The shapes one room works with (docs/protocol.md, Room lifecycle; Endpoints): the stored
 * record, the requests a holder passes to `applyOp`, its replies and results. All plain JSON
 * (see room.ts's header).
 */
import type { CloseReason, ErrorCode, Feature, RoomStatus } from "../../src/protocol/index.ts";

export type Side = "host" | "guest";
export type { RoomStatus };

export interface WrongJoin {
  s: string;
  t: number;
}

export interface StoredCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
  seq: number;
}

export interface SideCandidates {
  items: StoredCandidate[];
  /** Highest sequence number this side was ever given (never reset: docs/protocol.md, Candidates). */
  lastSeq: number;
  /** End-of-candidates mark (ext `end`). */
  complete: boolean;
}

export interface RoomRecord {
  schema: 1;
  code: string;
  status: RoomStatus;
  ownerTokenHash: string;
  guestTokenHash: string | null;
  joinCodeHash: string;
  hostUserName: string;
  guestUserName: string | null;
  offer: { type: "offer"; sdp: string } | null;
  answer: { type: "answer"; sdp: string } | null;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** While not closed: when the current state's TTL runs out. Closed: when the tombstone goes. */
  expiresAt: number;
  restarts: number;
  candidates: { host: SideCandidates; guest: SideCandidates };
  /**
   * Wrong join codes within the last minute: who (a digest of the client's ipKey) and when.
   * Bounded by the room's budget (or room-join.ts's WRONG_JOINS_KEPT when that is off).
   * Records written before sources were kept hold plain timestamps; those are dropped on the
   * next join.
   */
  wrongJoins: WrongJoin[];
  /** Accepted requests per token within the last minute. */
  tokenHits: { host: number[]; guest: number[] };
  /** Why a player closed the room, if it gave one of CLOSE_REASONS (told to the other player on 410). */
  closeReason?: CloseReason;
  /** Fresh ICE credentials handed out per token within the last minute (absent in records written before `ice`). */
  iceHits?: { host: number[]; guest: number[] };
}

/** The part of RegistryConfig the room rules need. */
export interface RoomConfig {
  ttlOpenMs: number;
  ttlJoinedMs: number;
  ttlPairedMs: number;
  ttlClosedMs: number;
  limitWrongJoinPerRoomPerMin: number;
  limitWrongJoinPerSourcePerMin: number;
  limitTokenPerMin: number;
  /** SDP, candidate and name characters a room may hold; 0 = off. */
  maxRoomBytes: number;
  longpollMaxMs: number;
  maxRestarts: number;
  features: readonly Feature[];
  limitIcePerMin: number;
}

/** A request body as the app read it: nothing, parsed JSON, or unusable (bad JSON / UTF-8 / content type). */
export type BodyInput = { kind: "none" } | { kind: "json"; value: unknown } | { kind: "invalid" };

export type RoomRequest =
  | {
      op: "create";
      code: string;
      hostUserName: string;
      ownerToken: string;
      ownerTokenHash: string;
      joinCode: string;
      joinCodeHash: string;
      /** (ext `fast`) The host's offer, already validated by the caller, stored with the room. */
      offer?: { type: "offer"; sdp: string } | undefined;
    }
  | { op: "public" }
  | {
      op: "join";
      body: BodyInput;
      /** SHA-256 of the normalised join code from the body; null when the body has none that normalises. */
      joinCodeHash: string | null;
      /** A fresh guest token prepared by the caller; used only if the join succeeds. */
      guestToken: string;
      guestTokenHash: string;
      /** Who is asking: a digest of the client's ipKey (wrong codes are counted per source). */
      source: string;
    }
  | {
      op: "snapshot";
      tokenHash: string | null;
      since?: string | undefined;
      wait?: string | undefined;
      ifNoneMatch?: string | undefined;
    }
  | { op: "candidates"; tokenHash: string | null; since?: string | undefined; wait?: string | undefined }
  | { op: "offer" | "answer" | "candidate" | "close"; tokenHash: string | null; body: BodyInput }
  /** May this token have fresh ICE credentials? (The app mints them; the room only authorises and counts.) */
  | { op: "ice"; tokenHash: string | null }
  /** (ext `fast`) Room and candidates in one long-poll, cursors in the body. */
  | { op: "watch"; tokenHash: string | null; body: BodyInput }
  /** Housekeeping only: apply TTL expiry (sweep / alarm). */
  | { op: "tick" };

export interface RoomReply {
  status: number;
  body?: unknown;
  /** Error code when status >= 400; the app builds the envelope (docs/protocol.md, Errors). */
  error?: ErrorCode;
  /** A safe, data-free message overriding the default for `error`. */
  message?: string;
  retryAfterSec?: number;
  /** On `closed`: the close reason to tell (CLOSE_REASONS only). */
  closeReason?: CloseReason;
  /** Strong ETag value (quotes included) for snapshots. */
  etag?: string;
  /** `create` only: the code is taken, pick another. */
  exists?: true;
  /**
   * Answered without a valid token (the room is unknown, closed or the token wrong): the app
   * counts these per client IP, so they cannot map live rooms faster than the public lookup.
   */
  probe?: true;
}

export interface Changed {
  version: boolean;
  host: boolean;
  guest: boolean;
}

export interface OpResult {
  /** The record after the op; null when the room is gone (or never existed). */
  record: RoomRecord | null;
  /** Persist `record` (or delete it when null). */
  write: boolean;
  /** The answer, or null with `wait` set: hold the request. */
  reply: RoomReply | null;
  /** Hold the request; any of the listed changes wakes it (the op then runs again). */
  wait?: { on: WaitOn; ms: number };
  changed: Changed;
}

/** What wakes a held request: the room's version, one side's candidates, or any of several. */
export type WaitOn = "version" | Side | readonly ("version" | Side)[];

export interface OpContext {
  now: number;
  config: RoomConfig;
  /** A re-run after a wake-up: do not count it against limits again. */
  resume?: boolean;
  /** The hold is over (deadline, shutdown): answer with what there is. */
  final?: boolean;
}

/** Answers an op: the reply, what it changed, and whether the record must be written. */
export type Done = (reply: RoomReply, extra?: Partial<Changed> | null, dirty?: boolean) => OpResult;

/**
 * Holds the request (long-poll) until one of `on` changes or `ms` runs out; `stored`: it wrote to
 * the room first (ext `offer-watch`: the host's first offer).
 */
export type Hold = (wait: { on: WaitOn; ms: number }, stored?: boolean) => OpResult;
