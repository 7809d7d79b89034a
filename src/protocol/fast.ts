/**
 * (ext `fast`) The few-round-trip path (docs/protocol.md, Extensions: Fast): every request a CORS-simple
 * `POST` (no preflight), the version and the token in the JSON body instead of headers,
 * the host's offer with room creation, the offer and the host's candidates with the join,
 * the guest's candidates with its answer, and one long-poll (`/watch`) for room and
 * candidates together, cursors in the body.
 */
import { obj, parseCandidatePage, parseSnapshot, type CandidatePage, type RoomSnapshot } from "./wire.ts";

/** The simple request's media type (one of the three CORS-safelisted ones); the body is JSON. */
export const SIMPLE_CONTENT_TYPE = "text/plain;charset=UTF-8";

/** Body fields that carry what the headers carry on the preflighted form. */
export const BODY_FIELDS = { version: "v", token: "token" } as const;

/** What a `/watch` waits for besides a version cursor: a description the room does not have yet. */
export type WatchFor = "offer" | "answer";

/** `POST /rooms/:code/watch` body (besides `v` and `token`). */
export interface WatchBody {
  /** Wake when the room's version passes this. */
  version?: number;
  /** Wake when the room has this description (a closed room answers 410 at once). */
  for?: WatchFor;
  /** Other side's candidate cursor: wake on candidates with a higher sequence, or its end mark. */
  since?: number;
  /** Seconds to hold at most (the server caps it at LONGPOLL_MAX_SEC). */
  wait?: number;
  /**
   * (ext `offer-watch`) The host's first offer, stored as `/offer` would store it while the room
   * has none (a watch sent again does not replace it): the create need not wait for the offer.
   */
  offer?: { type: "offer"; sdp: string };
}

/** A JSON body number that can be a cursor or a hold: a non-negative safe integer. */
export function isCursor(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** `POST /rooms/:code/watch` → 200, and the extras of a join's 200 (docs/protocol.md, Extensions: Fast). */
export interface WatchResult {
  room: RoomSnapshot | undefined;
  /** Present when the request gave `since` (a join: the host's full page). */
  candidates: CandidatePage | undefined;
}

/** Reads a watch answer, or the `room` / `candidates` a join or an answer carries; absent parts stay absent. */
export function parseWatchResult(x: unknown): WatchResult {
  const { room, candidates } = obj(x);
  return {
    room: obj(room) === room ? parseSnapshot(room) : undefined,
    candidates: obj(candidates) === candidates ? parseCandidatePage(candidates) : undefined,
  };
}
