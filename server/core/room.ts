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
  normalizeCandidate,
  checkSdp,
  checkUserName,
  normalizeUserName,
  candidateKey,
  isCursor,
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

export interface WrongJoin {
  s: string;
  t: number;
}

/** Most wrong-join entries a room keeps when its room-wide budget is switched off. */
const WRONG_JOINS_KEPT = 1024;

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
   * Bounded by the room's budget (or WRONG_JOINS_KEPT when that is off). Records written
   * before sources were kept hold plain timestamps; those are dropped on the next join.
   */
  wrongJoins: WrongJoin[];
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
  limitWrongJoinPerSourcePerMin: number;
  limitTokenPerMin: number;
  /** SDP, candidate and name characters a room may hold; 0 = off. */
  maxRoomBytes: number;
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
  | { op: "snapshot"; tokenHash: string | null; since?: string | undefined; wait?: string | undefined; ifNoneMatch?: string | undefined }
  | { op: "candidates"; tokenHash: string | null; since?: string | undefined; wait?: string | undefined }
  | { op: "offer" | "answer" | "candidate" | "close"; tokenHash: string | null; body: BodyInput }
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
function advanceTime(rec: RoomRecord, now: number, config: RoomConfig): { rec: RoomRecord | null; changed: boolean } {
  let changed = false;
  if (rec.status !== "closed" && now >= rec.expiresAt) {
    const expiredAt = rec.expiresAt;
    rec.status = "closed";
    dropPayload(rec);
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
    // (ext `fast`) An offer that came with the room counts towards its bytes too.
    if (config.maxRoomBytes > 0 && roomChars(rec) > config.maxRoomBytes) {
      rec = null;
      return done(roomFull());
    }
    // (ext) ETag: the version a host long-polls from (its offer may already be in the room).
    return done({ status: 201, body: { code: req.code, ownerToken: req.ownerToken, joinCode: req.joinCode, expiresAt: rec.expiresAt } satisfies CreateRoomResult, etag: etagOf(rec) }, { version: true }, true);
  }

  if (!rec) return done(req.op === "public" || req.op === "join" ? err("not_found") : { ...err("not_found"), probe: true });

  if (req.op === "public") {
    if (rec.status !== "open") return done(err("not_found"));
    return done({ status: 200, body: { status: "open", hostUserName: rec.hostUserName, expiresAt: rec.expiresAt } satisfies PublicRoomInfo });
  }

  if (req.op === "join") return join(rec, req, ctx, done);

  // Token routes. A closed room answers 410 to everyone, except close itself (idempotent 204).
  const side = sideOf(rec, req.tokenHash);
  if (rec.status === "closed" && req.op !== "close") return done(side ? err("closed") : { ...err("closed"), probe: true });
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
      // What the room holds after this offer: a restart also drops the answer and the guest's candidates.
      const dropped = sdpChars(rec.offer) + sideChars(rec.candidates.host) + (restart === true && rec.status === "paired" ? sdpChars(rec.answer) + sideChars(rec.candidates.guest) : 0);
      if (tooBig(rec, offer.sdp.length - dropped, config)) return done(roomFull());
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

    case "answer":
      return answer(rec, req.body, ctx, done);

    case "watch":
      return watch(rec, side, req.body, ctx, done, (wait) => ({ record: rec, write, reply: null, wait, changed }));

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

/** The other side's candidates after `since` (a delta page), or all of them (a full page). */
function page(theirs: SideCandidates, since: number | undefined, config: RoomConfig): CandidatePage {
  const items = since === undefined ? theirs.items : theirs.items.filter((c) => c.seq > since);
  return { items: items.map(publicCandidate), mode: since === undefined ? "full" : "delta", lastSeq: theirs.lastSeq, complete: has(config, "end") && theirs.complete };
}

/**
 * Stores a side's new candidates (and its end mark), all or nothing: a list that would pass
 * the per-side cap ("cap") or the room's bytes ("full") stores none. Else: whether anything changed.
 */
function storeCandidates(rec: RoomRecord, side: Side, list: Candidate[], end: boolean, config: RoomConfig): boolean | "cap" | "full" {
  const mine = rec.candidates[side];
  const seen = new Set(mine.items.map((c) => candidateKey(c)));
  const fresh: Candidate[] = [];
  for (const c of list) {
    const k = candidateKey(c);
    if (!seen.has(k)) {
      seen.add(k);
      fresh.push(c);
    }
  }
  if (mine.items.length + fresh.length > LIMITS.candidatesPerSide) return "cap";
  if (fresh.length > 0 && tooBig(rec, fresh.reduce((n, c) => n + candidateChars(c), 0), config)) return "full";
  for (const c of fresh) mine.items.push(toStored(c, ++mine.lastSeq));
  const endChanged = end && !mine.complete;
  if (end) mine.complete = true;
  return fresh.length > 0 || endChanged;
}

// (ext `fast`) The answer may carry the guest's candidates and end mark, and ask for the
// host's candidates after a cursor in its reply.
const AnswerExtra = v.object({
  candidates: v.optional(v.pipe(v.array(v.unknown()), v.maxLength(LIMITS.batchItems))),
  end: v.optional(v.literal(true)),
  since: v.optional(v.custom<number>(isCursor)),
});

function answer(rec: RoomRecord, body: BodyInput, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const shape = v.safeParse(SdpBody, body.value);
  if (!shape.success) return done(err("bad_request"));
  let extra: v.InferOutput<typeof AnswerExtra> = {};
  if (has(config, "fast")) {
    const x = v.safeParse(AnswerExtra, body.value);
    if (!x.success) return done(err("bad_request", { message: `candidates is at most ${LIMITS.batchItems} candidates, end is true, since a non-negative integer.` }));
    extra = x.output;
    if (extra.end && !has(config, "end")) return done(err("bad_request", { message: "End-of-candidates is not supported." }));
  }
  const why = checkSdp(shape.output.sdp, "answer", shape.output.type);
  if (why) return done(err("bad_sdp", { message: `Invalid answer: ${why}.` }));
  const bad = validateCandidateList(extra.candidates ?? []);
  if (bad) return done(bad);
  if (rec.status === "paired") return done(err("already_paired"));
  if (!rec.offer) return done(err("no_offer"));
  const sdp = shape.output.sdp as string;
  if (tooBig(rec, sdp.length - sdpChars(rec.answer), config)) return done(roomFull());
  // The answer and its candidates are stored together or not at all.
  const before = rec.answer;
  rec.answer = { type: "answer", sdp };
  const dirty = storeCandidates(rec, "guest", (extra.candidates ?? []) as Candidate[], extra.end === true, config);
  if (dirty === "cap" || dirty === "full") {
    rec.answer = before;
    return done(dirty === "cap" ? err("too_many_candidates") : roomFull());
  }
  enter(rec, "paired", now, config);
  const changed = { version: true, guest: dirty };
  if (extra.since === undefined) return done({ status: 204, etag: etagOf(rec) }, changed, true);
  return done({ status: 200, body: { candidates: page(rec.candidates.host, extra.since, config) }, etag: etagOf(rec) }, changed, true);
}

const WatchBody = v.object({
  version: v.optional(v.custom<number>(isCursor)),
  for: v.optional(v.picklist(["offer", "answer"])),
  since: v.optional(v.custom<number>(isCursor)),
  wait: v.optional(v.custom<number>(isCursor)),
});

/**
 * (ext `fast`) One long-poll for the room and the other side's candidates. Answers at once
 * when there is news for any cursor given (a newer version, the awaited description, newer
 * candidates or the end mark), else holds until there is, or until `wait` runs out.
 */
function watch(rec: RoomRecord, side: Side, body: BodyInput, ctx: OpContext, done: Done, hold: (wait: { on: WaitOn; ms: number }) => OpResult): OpResult {
  const { config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const parsed = v.safeParse(WatchBody, body.value);
  if (!parsed.success) return done(err("bad_request", { message: 'version, since and wait are non-negative integers; for is "offer" or "answer".' }));
  const w = parsed.output;
  const other: Side = side === "host" ? "guest" : "host";
  const candidates = w.since === undefined ? undefined : page(rec.candidates[other], w.since, config);
  const watching = w.version !== undefined || w.for !== undefined || candidates !== undefined;
  const news =
    (w.version !== undefined && rec.version > w.version) ||
    (w.for !== undefined && rec[w.for] !== null) ||
    (candidates !== undefined && (candidates.items.length > 0 || candidates.complete));
  const holdMs = Math.min((w.wait ?? 0) * 1000, config.longpollMaxMs);
  if (watching && !news && holdMs > 0 && !ctx.final) {
    return hold({ on: WATCH_ON[other], ms: holdMs });
  }
  return done({ status: 200, body: { room: snapshot(rec), ...(candidates && { candidates }) }, etag: etagOf(rec) });
}

const WATCH_ON = { host: ["version", "host"], guest: ["version", "guest"] } as const;

function clearSide(s: SideCandidates): void {
  s.items = [];
  s.complete = false;
}

type Done = (reply: RoomReply, extra?: Partial<Changed> | null, dirty?: boolean) => OpResult;

function join(rec: RoomRecord, req: Extract<RoomRequest, { op: "join" }>, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  if (rec.status === "closed") return done(err("closed"));
  const perRoom = config.limitWrongJoinPerRoomPerMin;
  const perSource = config.limitWrongJoinPerSourcePerMin;
  const counting = perRoom > 0 || perSource > 0;
  // Sliding 60 s windows, checked before the code is even looked at (no guessing oracle):
  // a source past its own budget is refused alone; the room refuses everyone only past its
  // budget, which is perSource × (perRoom / perSource) sources' worth, never one source's.
  let pruned = false;
  if (counting && rec.wrongJoins.length > 0) {
    const keep = rec.wrongJoins.filter((w) => typeof w === "object" && w !== null && w.t > now - WINDOW_MS);
    pruned = keep.length !== rec.wrongJoins.length;
    rec.wrongJoins = keep;
    const retry = (t: number) => ({ retryAfterSec: Math.max(1, Math.ceil((t + WINDOW_MS - now) / 1000)) });
    if (perSource > 0) {
      const mine = keep.filter((w) => w.s === req.source);
      if (mine.length >= perSource) return done(err("rate_limited", retry(mine[mine.length - perSource]!.t)), null, pruned);
    }
    if (perRoom > 0 && keep.length >= perRoom) return done(err("rate_limited", retry(keep[keep.length - perRoom]!.t)), null, pruned);
  }
  const body = req.body;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"), null, pruned);
  const shape = v.safeParse(JoinBody, body.value);
  if (!shape.success) return done(err("bad_request", { message: "joinCode and guestUserName must be strings." }), null, pruned);
  const right = req.joinCodeHash !== null && timingSafeEqualHex(req.joinCodeHash, rec.joinCodeHash);
  if (!right) {
    if (!counting) return done(err("bad_join_code"), null, pruned);
    rec.wrongJoins.push({ s: req.source, t: now });
    if (perRoom <= 0 && rec.wrongJoins.length > WRONG_JOINS_KEPT) rec.wrongJoins.shift();
    return done(err("bad_join_code"), null, true);
  }
  const raw = shape.output.guestUserName;
  const why = checkUserName(raw);
  if (why) return done(err("bad_request", { message: `guestUserName: ${why}.` }), null, pruned);
  if (rec.status === "paired") return done(err("already_paired"), null, pruned);
  if (rec.status !== "open") return done(err("not_open"), null, pruned);
  const guestUserName = normalizeUserName(raw);
  if (tooBig(rec, guestUserName.length, config)) return done(roomFull(), null, pruned);
  rec.guestTokenHash = req.guestTokenHash;
  rec.guestUserName = guestUserName;
  enter(rec, "joined", now, config);
  const out: JoinRoomResult & Record<string, unknown> = { guestToken: req.guestToken, expiresAt: rec.expiresAt };
  // (ext `fast`) What the guest would read next: the room (the offer, when the host sent it)
  // and the host's candidates so far, so a guest answers without a read first.
  if (has(config, "fast")) Object.assign(out, { room: snapshot(rec), candidates: page(rec.candidates.host, undefined, config) });
  return done({ status: 200, body: out, etag: etagOf(rec) }, { version: true }, true);
}

// ---- bytes per room (MAX_ROOM_BYTES) ---------------------------------------------------
// Counted in UTF-16 code units (O(1) per string): SDP and candidates are ASCII, so these are
// bytes; what V8 keeps in memory is at most twice that.

const sdpChars = (d: { sdp: string } | null) => (d ? d.sdp.length : 0);
const candidateChars = (c: { candidate: string; sdpMid?: string | null }) => c.candidate.length + (c.sdpMid?.length ?? 0);
const sideChars = (s: SideCandidates) => s.items.reduce((n, c) => n + candidateChars(c), 0);

/** Characters the room holds now. */
export function roomChars(rec: RoomRecord): number {
  return rec.hostUserName.length + (rec.guestUserName?.length ?? 0) + sdpChars(rec.offer) + sdpChars(rec.answer) + sideChars(rec.candidates.host) + sideChars(rec.candidates.guest);
}

function tooBig(rec: RoomRecord, delta: number, config: RoomConfig): boolean {
  return config.maxRoomBytes > 0 && delta > 0 && roomChars(rec) + delta > config.maxRoomBytes;
}

const roomFull = () => err("body_too_large", { message: "This room holds too much data." });

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
  list = list.map(normalizeCandidate);
  const bad = validateCandidateList(list);
  if (bad) return done(bad);
  // All or nothing: a post that would pass the cap stores none of its candidates.
  const dirty = storeCandidates(rec, side, list as Candidate[], end, config);
  if (dirty === "cap") return done(err("too_many_candidates"));
  if (dirty === "full") return done(roomFull());
  return done({ status: 204 }, dirty ? { [side]: true } : null, dirty);
}
