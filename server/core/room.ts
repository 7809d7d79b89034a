/**
 * The rules of ONE room (docs/protocol.md), runtime-free.
 *
 * Seams (for the Node holder in server/room-host.ts and a Cloudflare Durable Object later):
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
 * Check order inside a room follows docs/protocol.md, Errors: room exists (404) → not closed (410) → token and
 * role (403) → per-room / per-token limits (429) → body shape and validation (400) → state
 * (409). Origin, route, version header, body size and per-IP limits happen in server/app.ts.
 */
import {
  LIMITS,
  checkCandidate,
  checkSdp,
  checkUserName,
  candidateKey,
  type Candidate,
  ERROR_STATUS,
  type ErrorCode,
  type Feature,
  type CandidatePage,
  type CreateRoomResult,
  type JoinRoomResult,
  type PublicRoomInfo,
  type RoomSnapshot,
  type RoomStatus,
} from "../../src/protocol/index.ts";
import * as v from "valibot";
import { slidingWindowHit, WINDOW_MS } from "./ratelimit.ts";
import { timingSafeEqualHex } from "./crypto.ts";

export type Side = "host" | "guest";
export type { RoomStatus };

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
  /** Timestamps of wrong join codes within the last minute. */
  wrongJoins: number[];
  /** Every join answers 429 until then (0 = not locked). */
  joinLockedUntil: number;
  /** Accepted requests per token within the last minute. */
  tokenHits: { host: number[]; guest: number[] };
}

/** The part of RegistryConfig the room rules need. */
export interface RoomConfig {
  ttlOpenMs: number;
  ttlJoinedMs: number;
  ttlPairedMs: number;
  ttlClosedMs: number;
  limitWrongJoinPerRoomPerMin: number;
  limitTokenPerMin: number;
  longpollMaxMs: number;
  maxRestarts: number;
  features: readonly Feature[];
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
    }
  | { op: "snapshot"; tokenHash: string | null; since?: string | undefined; wait?: string | undefined; ifNoneMatch?: string | undefined }
  | { op: "candidates"; tokenHash: string | null; since?: string | undefined; wait?: string | undefined }
  | { op: "offer" | "answer" | "candidate" | "close"; tokenHash: string | null; body: BodyInput }
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
  /** Strong ETag value (quotes included) for snapshots. */
  etag?: string;
  /** `create` only: the code is taken, pick another. */
  exists?: true;
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
  wait?: { on: "version" | Side; ms: number };
  changed: Changed;
}

export interface OpContext {
  now: number;
  config: RoomConfig;
  /** A re-run after a wake-up: do not count it against limits again. */
  resume?: boolean;
  /** The hold is over (deadline, shutdown): answer with what there is. */
  final?: boolean;
}

const NO_CHANGE: Changed = { version: false, host: false, guest: false };
const ALL_CHANGED: Changed = { version: true, host: true, guest: true };

/** An error reply; its HTTP status comes from the protocol's table (ERRORS). */
function err(error: ErrorCode, extra: { message?: string; retryAfterSec?: number } = {}): RoomReply {
  return { status: ERROR_STATUS[error], error, ...extra };
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
    offer: null,
    answer: null,
    version: 1,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    expiresAt: ctx.now + ctx.config.ttlOpenMs,
    restarts: 0,
    candidates: { host: emptySide(), guest: emptySide() },
    wrongJoins: [],
    joinLockedUntil: 0,
    tokenHits: { host: [], guest: [] },
  };
}

function bump(rec: RoomRecord, now: number): void {
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

function enter(rec: RoomRecord, status: RoomStatus, now: number, config: RoomConfig): void {
  rec.status = status;
  rec.expiresAt = now + ttlFor(status, config);
  bump(rec, now);
}

/**
 * TTL on access: a live room past its expiry becomes a tombstone from the moment it
 * expired (not from when someone looked), and a tombstone past its time is gone.
 */
function advanceTime(rec: RoomRecord, now: number, config: RoomConfig): { rec: RoomRecord | null; changed: boolean } {
  let changed = false;
  if (rec.status !== "closed" && now >= rec.expiresAt) {
    const expiredAt = rec.expiresAt;
    rec.status = "closed";
    rec.expiresAt = expiredAt + config.ttlClosedMs;
    bump(rec, expiredAt);
    changed = true;
  }
  if (rec.status === "closed" && now >= rec.expiresAt) return { rec: null, changed: true };
  return { rec, changed };
}

function snapshot(rec: RoomRecord): Required<RoomSnapshot> {
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
function sideOf(rec: RoomRecord, tokenHash: string | null): Side | null {
  if (tokenHash === null) return null;
  const isHost = timingSafeEqualHex(tokenHash, rec.ownerTokenHash);
  const isGuest = rec.guestTokenHash !== null && timingSafeEqualHex(tokenHash, rec.guestTokenHash);
  return isHost ? "host" : isGuest ? "guest" : null;
}

const has = (config: RoomConfig, f: Feature) => config.features.includes(f);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// Body shapes (valibot). Sizes and formats come from the protocol module's checks
// (checkSdp, checkCandidate, checkUserName), which also decide the error code. Unknown
// fields are ignored, for forward compatibility. Arrays are refused before these run.
const JoinBody = v.object({ joinCode: v.string(), guestUserName: v.string() });
const SdpBody = v.object({ type: v.optional(v.unknown()), sdp: v.optional(v.unknown()), restart: v.optional(v.boolean()) });
const CloseBody = v.object({
  reason: v.optional(v.pipe(v.string(), v.check((r) => [...r].length <= LIMITS.closeReasonChars))),
});
const BatchBody = v.object({ items: v.pipe(v.array(v.unknown()), v.maxLength(LIMITS.batchItems)), end: v.optional(v.literal(true)) });
const EndBody = v.object({ end: v.literal(true) });

/** Query integers (`since`, `wait`): decimal digits only, at most 15 of them (safe integers). */
function parseQueryInt(s: string | undefined): number | undefined | "bad" {
  if (s === undefined) return undefined;
  return /^\d{1,15}$/.test(s) ? Number(s) : "bad";
}

/** `If-None-Match`: a list of entity tags; returns true if one of them is `"version"` (weak or strong). */
function etagMatches(header: string | undefined, version: number): boolean {
  if (!header) return false;
  const want = `"${version}"`;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === want);
}

const etagOf = (rec: RoomRecord) => `"${rec.version}"`;

function validateCandidateList(items: unknown[]): RoomReply | null {
  for (const it of items) {
    const why = checkCandidate(it);
    if (why) return err("bad_candidate", { message: `Invalid ICE candidate: ${why}.` });
  }
  return null;
}

function toStored(c: Candidate, seq: number): StoredCandidate {
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null, seq };
}

const publicCandidate = (c: StoredCandidate) => ({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });

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
    if (extra) changed = { version: changed.version || !!extra.version, host: changed.host || !!extra.host, guest: changed.guest || !!extra.guest };
    return { record: rec, write: write || dirty, reply, changed };
  });

  if (req.op === "tick") return done({ status: 204 });

  if (req.op === "create") {
    if (rec) return done({ status: 409, error: "internal", exists: true });
    rec = newRoomRecord(req, ctx);
    return done({ status: 201, body: { code: req.code, ownerToken: req.ownerToken, joinCode: req.joinCode, expiresAt: rec.expiresAt } satisfies CreateRoomResult }, { version: true }, true);
  }

  if (!rec) return done(err("not_found"));

  if (req.op === "public") {
    if (rec.status !== "open") return done(err("not_found"));
    return done({ status: 200, body: { status: "open", hostUserName: rec.hostUserName, expiresAt: rec.expiresAt } satisfies PublicRoomInfo });
  }

  if (req.op === "join") return join(rec, req, ctx, done);

  // Token routes. A closed room answers 410 to everyone, except close itself (idempotent 204).
  if (rec.status === "closed" && req.op !== "close") return done(err("closed"));
  const side = sideOf(rec, req.tokenHash);
  if (!side) return done(err("forbidden", { message: "Missing or wrong access token." }));
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
      if (since === "bad" || wait === "bad") return done(err("bad_request", { message: "since and wait must be non-negative integers." }));
      if (wait === undefined && etagMatches(req.ifNoneMatch, rec.version)) return done({ status: 304, etag: etagOf(rec) });
      // The cursor is `since`, or the version the client already holds per If-None-Match.
      const cursor = since ?? (req.ifNoneMatch && etagMatches(req.ifNoneMatch, rec.version) ? rec.version : undefined);
      const holdMs = Math.min((wait ?? 0) * 1000, config.longpollMaxMs);
      if (cursor !== undefined && rec.version <= cursor && holdMs > 0 && !ctx.final) {
        return { record: rec, write, reply: null, wait: { on: "version", ms: holdMs }, changed };
      }
      return done({ status: 200, body: snapshot(rec), etag: etagOf(rec) });
    }

    case "candidates": {
      const other: Side = side === "host" ? "guest" : "host";
      const theirs = rec.candidates[other];
      const complete = has(config, "end") && theirs.complete;
      const since = has(config, "delta") ? parseQueryInt(req.since) : undefined;
      const wait = has(config, "delta") ? parseQueryInt(req.wait) : undefined;
      if (since === "bad" || wait === "bad") return done(err("bad_request", { message: "since and wait must be non-negative integers." }));
      if (since === undefined) {
        return done({ status: 200, body: { items: theirs.items.map(publicCandidate), mode: "full", lastSeq: theirs.lastSeq, complete } satisfies CandidatePage });
      }
      const items = theirs.items.filter((c) => c.seq > since);
      const holdMs = Math.min((wait ?? 0) * 1000, config.longpollMaxMs);
      // Hold only while there is nothing to tell: no newer candidate and no end mark.
      if (items.length === 0 && !complete && holdMs > 0 && !ctx.final) {
        return { record: rec, write, reply: null, wait: { on: other, ms: holdMs }, changed };
      }
      return done({ status: 200, body: { items: items.map(publicCandidate), mode: "delta", lastSeq: theirs.lastSeq, complete } satisfies CandidatePage });
    }

    case "offer": {
      const body = req.body;
      if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
      const shape = v.safeParse(SdpBody, body.value);
      if (!shape.success) return done(err("bad_request", { message: "restart must be a boolean." }));
      const { type, sdp, restart } = shape.output;
      if (restart === true && !has(config, "restart")) return done(err("bad_request", { message: "ICE restart is not supported." }));
      const why = checkSdp(sdp, "offer", type);
      if (why) return done(err("bad_sdp", { message: `Invalid offer: ${why}.` }));
      const offer = { type: "offer" as const, sdp: sdp as string };
      if (rec.status === "paired") {
        if (restart !== true) return done(err("already_paired"));
        if (config.maxRestarts > 0 && rec.restarts >= config.maxRestarts) return done(err("too_many_restarts"));
        rec.restarts += 1;
        rec.offer = offer;
        rec.answer = null;
        clearSide(rec.candidates.host);
        clearSide(rec.candidates.guest);
        enter(rec, "joined", now, config);
        return done({ status: 204, etag: etagOf(rec) }, { version: true, host: true, guest: true }, true);
      }
      // open or joined: replace the offer; the host's candidates and end mark go with it.
      rec.offer = offer;
      clearSide(rec.candidates.host);
      bump(rec, now);
      // (ext) ETag: the version after this change, so the host long-polls from it without a read first.
      return done({ status: 204, etag: etagOf(rec) }, { version: true, host: true }, true);
    }

    case "answer": {
      const body = req.body;
      if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
      const shape = v.safeParse(SdpBody, body.value);
      if (!shape.success) return done(err("bad_request"));
      const why = checkSdp(shape.output.sdp, "answer", shape.output.type);
      if (why) return done(err("bad_sdp", { message: `Invalid answer: ${why}.` }));
      if (rec.status === "paired") return done(err("already_paired"));
      if (!rec.offer) return done(err("no_offer"));
      rec.answer = { type: "answer", sdp: shape.output.sdp as string };
      enter(rec, "paired", now, config);
      return done({ status: 204, etag: etagOf(rec) }, { version: true }, true);
    }

    case "candidate":
      return postCandidates(rec, side, req.body, ctx, done);

    case "close": {
      const body = req.body;
      if (body.kind === "invalid") return done(err("bad_request"));
      if (body.kind === "json") {
        if (!isPlainObject(body.value) || !v.safeParse(CloseBody, body.value).success) {
          return done(err("bad_request", { message: `reason must be a string of at most ${LIMITS.closeReasonChars} characters.` }));
        }
      }
      if (rec.status === "closed") return done({ status: 204 });
      // The reason is not stored or logged: it is free text from a client.
      enter(rec, "closed", now, config);
      if (config.ttlClosedMs <= 0) rec = null;
      return done({ status: 204 }, ALL_CHANGED, true);
    }
  }
}

function clearSide(s: SideCandidates): void {
  s.items = [];
  s.complete = false;
}

type Done = (reply: RoomReply, extra?: Partial<Changed> | null, dirty?: boolean) => OpResult;

function join(rec: RoomRecord, req: Extract<RoomRequest, { op: "join" }>, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  if (rec.status === "closed") return done(err("closed"));
  const limit = config.limitWrongJoinPerRoomPerMin;
  if (limit > 0 && now < rec.joinLockedUntil) {
    return done(err("rate_limited", { retryAfterSec: Math.max(1, Math.ceil((rec.joinLockedUntil - now) / 1000)) }));
  }
  const body = req.body;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const shape = v.safeParse(JoinBody, body.value);
  if (!shape.success) return done(err("bad_request", { message: "joinCode and guestUserName must be strings." }));
  const { guestUserName } = shape.output;
  const right = req.joinCodeHash !== null && timingSafeEqualHex(req.joinCodeHash, rec.joinCodeHash);
  if (!right) {
    if (limit > 0) {
      // "5 wrong codes within any 60 s": the 5th itself is refused with 429 and starts a
      // 60 s lock during which every join (right or wrong) is 429: no guessing oracle.
      while (rec.wrongJoins.length > 0 && rec.wrongJoins[0]! <= now - WINDOW_MS) rec.wrongJoins.shift();
      rec.wrongJoins.push(now);
      if (rec.wrongJoins.length >= limit) {
        rec.wrongJoins = [];
        rec.joinLockedUntil = now + WINDOW_MS;
        return done(err("rate_limited", { retryAfterSec: WINDOW_MS / 1000 }), null, true);
      }
      return done(err("bad_join_code"), null, true);
    }
    return done(err("bad_join_code"));
  }
  const why = checkUserName(guestUserName);
  if (why) return done(err("bad_request", { message: `guestUserName: ${why}.` }));
  if (rec.status === "paired") return done(err("already_paired"));
  if (rec.status !== "open") return done(err("not_open"));
  rec.guestTokenHash = req.guestTokenHash;
  rec.guestUserName = guestUserName;
  enter(rec, "joined", now, config);
  return done({ status: 200, body: { guestToken: req.guestToken, expiresAt: rec.expiresAt } satisfies JoinRoomResult, etag: etagOf(rec) }, { version: true }, true);
}

function postCandidates(rec: RoomRecord, side: Side, body: BodyInput, ctx: OpContext, done: Done): OpResult {
  const { config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const value = body.value;
  let list: unknown[];
  let end = false;
  if ("items" in value) {
    if (!has(config, "batch")) return done(err("bad_request", { message: "Batches are not supported." }));
    if ("candidate" in value) return done(err("bad_request"));
    const batch = v.safeParse(BatchBody, value);
    if (!batch.success) return done(err("bad_request", { message: `A batch is { items: at most ${LIMITS.batchItems} candidates, end?: true }.` }));
    end = batch.output.end === true;
    list = batch.output.items;
  } else if ("candidate" in value) {
    if ("end" in value) return done(err("bad_request", { message: "Send end alone or in a batch." }));
    list = [value];
  } else if (v.safeParse(EndBody, value).success) {
    end = true;
    list = [];
  } else {
    return done(err("bad_request"));
  }
  if (end && !has(config, "end")) return done(err("bad_request", { message: "End-of-candidates is not supported." }));
  const bad = validateCandidateList(list);
  if (bad) return done(bad);

  const mine = rec.candidates[side];
  const seen = new Set(mine.items.map((c) => candidateKey(c)));
  const fresh: Candidate[] = [];
  for (const c of list as Candidate[]) {
    const k = candidateKey(c);
    if (!seen.has(k)) {
      seen.add(k);
      fresh.push(c);
    }
  }
  // All or nothing: a post that would pass the cap stores none of its candidates.
  if (mine.items.length + fresh.length > LIMITS.candidatesPerSide) return done(err("too_many_candidates"));
  for (const c of fresh) mine.items.push(toStored(c, ++mine.lastSeq));
  const endChanged = end && !mine.complete;
  if (end) mine.complete = true;
  const dirty = fresh.length > 0 || endChanged;
  return done({ status: 204 }, dirty ? { [side]: true } : null, dirty);
}
