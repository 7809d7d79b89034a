/**
 * The rules of ONE room (docs/protocol.md), runtime-free.
 *
 * Seams (for the Node holder in server/core/room-host.ts and a Cloudflare Durable Object later):
 * - `RoomRecord` is plain JSON-serialisable data: a Durable Object can persist it as-is.
 *   `tokenHits` and `wrongJoins` are rate-limit bookkeeping; a DO may keep them only in
 *   memory if it accepts losing them on eviction.
 * - `applyOp(record, request, ctx)` is synchronous and deterministic given `ctx.now`: no
 *   timers, no I/O, no randomness (secrets and their SHA-256 digests are prepared by the
 *   caller, see `RoomRequest`, because WebCrypto digests are async and the op must run
 *   atomically per room). It mutates `record` in place and says whether to persist it
 *   (`write`), what to answer (`reply`), or that the request should be held (`wait`:
 *   long-poll) and which change would wake it. It also reports what changed (`changed`)
 *   so the holder can wake its waiters.
 * - The holder runs `applyOp` one at a time per room, keeps long-poll waiters and their
 *   deadlines, re-runs a woken request with `resume: true` (not counted against the token
 *   limit again) and at the deadline with `final: true` (answer with what there is).
 * - `RoomRequest` and `RoomReply` are JSON-serialisable too, so a Worker can forward them to
 *   the room's Durable Object over RPC or fetch.
 *
 * The rules are split by job: room-record.ts (states, TTLs, snapshot), room-join.ts,
 * room-sdp.ts (offer, answer), room-candidates.ts, room-watch.ts (ext `fast`) and
 * room-bytes.ts (MAX_ROOM_BYTES); this file dispatches one request to them.
 *
 * Check order inside a room follows docs/protocol.md, Errors: room exists (404) → not closed (410) → token and
 * role (403) → per-room / per-token limits (429) → body shape and validation (400) → state
 * (409). Origin, route, version header, body size and per-IP limits happen in server/core/app.ts.
 */
import * as v from "valibot";
import { LIMITS, isCloseReason, type CreateRoomResult, type PublicRoomInfo } from "../../src/protocol/index.ts";
import { slidingWindowHit } from "./ratelimit.ts";
import { roomChars, roomFull } from "./room-bytes.ts";
import { postCandidates, readCandidates } from "./room-candidates.ts";
import { join } from "./room-join.ts";
import {
  ALL_CHANGED,
  NO_CHANGE,
  advanceTime,
  enter,
  err,
  etagMatches,
  etagOf,
  gone,
  has,
  isPlainObject,
  newRoomRecord,
  parseQueryInt,
  sideOf,
  snapshot,
} from "./room-record.ts";
import { answer, offer } from "./room-sdp.ts";
import type { Changed, OpContext, OpResult, RoomReply, RoomRecord, RoomRequest } from "./room-types.ts";
import { watch } from "./room-watch.ts";

export type {
  BodyInput,
  Changed,
  OpContext,
  OpResult,
  RoomConfig,
  RoomRecord,
  RoomReply,
  RoomRequest,
  RoomStatus,
  Side,
  SideCandidates,
  StoredCandidate,
  WaitOn,
  WrongJoin,
} from "./room-types.ts";
export { newRoomRecord } from "./room-record.ts";
export { roomChars } from "./room-bytes.ts";

const CloseBody = v.object({
  reason: v.optional(
    v.pipe(
      v.string(),
      v.check((r) => [...r].length <= LIMITS.closeReasonChars),
    ),
  ),
});

/** Identity: a function given as an argument gets no inferred name (see applyOp's `done`). */
export const unnamed = <F>(f: F): F => f;

/** Applies one request to one room. See the file header for the contract. */
export function applyOp(record: RoomRecord | null, req: RoomRequest, ctx: OpContext): OpResult {
  const { now, config } = ctx;
  let rec = record;
  let write = false;
  let changed: Changed = { ...NO_CHANGE };

  if (rec) {
    const t = advanceTime(rec, now, config);
    if (t.changed) {
      write = true;
      changed = { ...ALL_CHANGED };
    }
    rec = t.rec;
  }
  // Passed through unnamed(): tsx (esbuild keepNames) would wrap a closure assigned to a
  // name in __name(), an Object.defineProperty on every op.
  const done = unnamed((reply: RoomReply, extra: Partial<Changed> | null = null, dirty = false): OpResult => {
    if (extra)
      changed = {
        version: changed.version || !!extra.version,
        host: changed.host || !!extra.host,
        guest: changed.guest || !!extra.guest,
      };
    return { record: rec, write: write || dirty, reply, changed };
  });

  if (req.op === "tick") return done({ status: 204 });

  if (req.op === "create") {
    if (rec) return done({ status: 409, error: "internal", exists: true });
    rec = newRoomRecord(req, ctx);
    // (ext `fast`) An offer that came with the room counts towards its bytes too.
    if (config.maxRoomBytes > 0 && roomChars(rec) > config.maxRoomBytes) {
      rec = null;
      return done(roomFull());
    }
    // (ext) ETag: the version a host long-polls from (its offer may already be in the room).
    return done(
      {
        status: 201,
        body: {
          code: req.code,
          ownerToken: req.ownerToken,
          joinCode: req.joinCode,
          expiresAt: rec.expiresAt,
        } satisfies CreateRoomResult,
        etag: etagOf(rec),
      },
      { version: true },
      true,
    );
  }

  if (!rec)
    return done(req.op === "public" || req.op === "join" ? err("not_found") : { ...err("not_found"), probe: true });

  if (req.op === "public") {
    if (rec.status !== "open") return done(err("not_found"));
    return done({
      status: 200,
      body: { status: "open", hostUserName: rec.hostUserName, expiresAt: rec.expiresAt } satisfies PublicRoomInfo,
    });
  }

  if (req.op === "join") return join(rec, req, ctx, done);

  // Token routes. A closed room answers 410 to everyone, except close itself (idempotent 204).
  const side = sideOf(rec, req.tokenHash);
  // Only a player of the room is told why it closed (closeReason); a stranger gets the bare 410.
  if (rec.status === "closed" && req.op !== "close") return done(side ? gone(rec) : { ...err("closed"), probe: true });
  if (!side) return done({ ...err("forbidden", { message: "Missing or wrong access token." }), probe: true });
  if ((req.op === "offer" && side !== "host") || (req.op === "answer" && side !== "guest")) {
    return done(err("forbidden", { message: "This role may not do that." }));
  }
  if (!ctx.resume) {
    const r = slidingWindowHit(rec.tokenHits[side], config.limitTokenPerMin, now);
    if (config.limitTokenPerMin > 0) write = true;
    if (!r.ok) return done(err("rate_limited", { retryAfterSec: r.retryAfterSec }));
  }

  switch (req.op) {
    case "snapshot": {
      if (!has(config, "longpoll")) return done({ status: 200, body: snapshot(rec) });
      const since = parseQueryInt(req.since);
      const wait = parseQueryInt(req.wait);
      if (since === "bad" || wait === "bad")
        return done(err("bad_request", { message: "since and wait must be non-negative integers." }));
      if (wait === undefined && etagMatches(req.ifNoneMatch, rec.version))
        return done({ status: 304, etag: etagOf(rec) });
      // The cursor is `since`, or the version the client already holds per If-None-Match.
      const cursor = since ?? (req.ifNoneMatch && etagMatches(req.ifNoneMatch, rec.version) ? rec.version : undefined);
      const holdMs = Math.min((wait ?? 0) * 1000, config.longpollMaxMs);
      if (cursor !== undefined && rec.version <= cursor && holdMs > 0 && !ctx.final) {
        return { record: rec, write, reply: null, wait: { on: "version", ms: holdMs }, changed };
      }
      return done({ status: 200, body: snapshot(rec), etag: etagOf(rec) });
    }

    case "candidates":
      return readCandidates(rec, side, req, ctx, done, (wait) => ({ record: rec, write, reply: null, wait, changed }));

    case "offer":
      return offer(rec, req.body, ctx, done);

    case "answer":
      return answer(rec, req.body, ctx, done);

    case "watch":
      return watch(rec, side, req.body, ctx, done, (wait, stored) => ({
        record: rec,
        write: write || stored === true,
        reply: null,
        wait,
        changed: stored ? { ...changed, version: true, host: true } : changed,
      }));

    case "candidate":
      return postCandidates(rec, side, req.body, ctx, done);

    case "ice": {
      if (!has(config, "ice")) return done(err("not_found", { message: "No such route." }));
      if (!ctx.resume && config.limitIcePerMin > 0) {
        rec.iceHits ??= { host: [], guest: [] };
        const r = slidingWindowHit(rec.iceHits[side], config.limitIcePerMin, now);
        write = true;
        if (!r.ok) return done(err("rate_limited", { retryAfterSec: r.retryAfterSec }));
      }
      return done({ status: 200, body: { side } });
    }

    case "close": {
      const body = req.body;
      if (body.kind === "invalid") return done(err("bad_request"));
      if (body.kind === "json") {
        if (!isPlainObject(body.value) || !v.safeParse(CloseBody, body.value).success) {
          return done(
            err("bad_request", {
              message: `reason must be a string of at most ${LIMITS.closeReasonChars} characters.`,
            }),
          );
        }
      }
      if (rec.status === "closed") return done({ status: 204 });
      // Free text is neither stored nor logged; only a reason from the fixed list is kept.
      const reason = body.kind === "json" ? (body.value as { reason?: unknown }).reason : undefined;
      if (isCloseReason(reason)) rec.closeReason = reason;
      enter(rec, "closed", now, config);
      if (config.ttlClosedMs <= 0) rec = null;
      return done({ status: 204 }, ALL_CHANGED, true);
    }
  }
}
