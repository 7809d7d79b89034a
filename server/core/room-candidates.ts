/**
 * Candidates (docs/protocol.md, Candidates; Candidate extensions; Long-poll): validation,
 * per-side sequence numbers, dedupe, the per-side cap, end marks (ext `end`), batches (ext
 * `batch`), full and delta pages with long-polls (ext `delta`). Pure.
 */
import * as v from "valibot";
import {
  LIMITS,
  checkCandidate,
  normalizeCandidate,
  candidateKey,
  type Candidate,
  type CandidatePage,
} from "../../src/protocol/index.ts";
import { candidateChars, roomFull, tooBig } from "./room-bytes.ts";
import { err, has, isPlainObject, parseQueryInt } from "./room-record.ts";
import type {
  BodyInput,
  Done,
  Hold,
  OpContext,
  OpResult,
  RoomConfig,
  RoomRecord,
  RoomReply,
  RoomRequest,
  Side,
  SideCandidates,
  StoredCandidate,
} from "./room-types.ts";

// Body shapes (valibot); the protocol module's checkCandidate decides the error code.
const BatchBody = v.object({
  items: v.pipe(v.array(v.unknown()), v.maxLength(LIMITS.batchItems)),
  end: v.optional(v.literal(true)),
});
const EndBody = v.object({ end: v.literal(true) });

export function validateCandidateList(items: unknown[]): RoomReply | null {
  for (const it of items) {
    const why = checkCandidate(it);
    if (why) return err("bad_candidate", { message: `Invalid ICE candidate: ${why}.` });
  }
  return null;
}

function toStored(c: Candidate, seq: number): StoredCandidate {
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null, seq };
}

const publicCandidate = (c: StoredCandidate) => ({
  candidate: c.candidate,
  sdpMid: c.sdpMid,
  sdpMLineIndex: c.sdpMLineIndex,
});

/** The other side's candidates after `since` (a delta page), or all of them (a full page). */
export function page(theirs: SideCandidates, since: number | undefined, config: RoomConfig): CandidatePage {
  const items = since === undefined ? theirs.items : theirs.items.filter((c) => c.seq > since);
  return {
    items: items.map(publicCandidate),
    mode: since === undefined ? "full" : "delta",
    lastSeq: theirs.lastSeq,
    complete: has(config, "end") && theirs.complete,
  };
}

/**
 * Stores a side's new candidates (and its end mark), all or nothing: a list that would pass
 * the per-side cap ("cap") or the room's bytes ("full") stores none. Else: whether anything changed.
 */
export function storeCandidates(
  rec: RoomRecord,
  side: Side,
  list: Candidate[],
  end: boolean,
  config: RoomConfig,
): boolean | "cap" | "full" {
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
  if (
    fresh.length > 0 &&
    tooBig(
      rec,
      fresh.reduce((n, c) => n + candidateChars(c), 0),
      config,
    )
  )
    return "full";
  for (const c of fresh) mine.items.push(toStored(c, ++mine.lastSeq));
  const endChanged = end && !mine.complete;
  if (end) mine.complete = true;
  return fresh.length > 0 || endChanged;
}

export function clearSide(s: SideCandidates): void {
  s.items = [];
  s.complete = false;
}

/** GET candidates: the other side's, all of them, or (ext `delta`) those after `since`, held while there are none. */
export function readCandidates(
  rec: RoomRecord,
  side: Side,
  req: Extract<RoomRequest, { op: "candidates" }>,
  ctx: OpContext,
  done: Done,
  hold: Hold,
): OpResult {
  const { config } = ctx;
  const other: Side = side === "host" ? "guest" : "host";
  const theirs = rec.candidates[other];
  const complete = has(config, "end") && theirs.complete;
  const since = has(config, "delta") ? parseQueryInt(req.since) : undefined;
  const wait = has(config, "delta") ? parseQueryInt(req.wait) : undefined;
  if (since === "bad" || wait === "bad")
    return done(err("bad_request", { message: "since and wait must be non-negative integers." }));
  if (since === undefined) {
    return done({
      status: 200,
      body: {
        items: theirs.items.map(publicCandidate),
        mode: "full",
        lastSeq: theirs.lastSeq,
        complete,
      } satisfies CandidatePage,
    });
  }
  const items = theirs.items.filter((c) => c.seq > since);
  const holdMs = Math.min((wait ?? 0) * 1000, config.longpollMaxMs);
  // Hold only while there is nothing to tell: no newer candidate and no end mark.
  if (items.length === 0 && !complete && holdMs > 0 && !ctx.final) {
    return hold({ on: other, ms: holdMs });
  }
  return done({
    status: 200,
    body: {
      items: items.map(publicCandidate),
      mode: "delta",
      lastSeq: theirs.lastSeq,
      complete,
    } satisfies CandidatePage,
  });
}

export function postCandidates(rec: RoomRecord, side: Side, body: BodyInput, ctx: OpContext, done: Done): OpResult {
  const { config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const value = body.value;
  let list: unknown[];
  let end = false;
  if ("items" in value) {
    if (!has(config, "batch")) return done(err("bad_request", { message: "Batches are not supported." }));
    if ("candidate" in value) return done(err("bad_request"));
    const batch = v.safeParse(BatchBody, value);
    if (!batch.success)
      return done(
        err("bad_request", { message: `A batch is { items: at most ${LIMITS.batchItems} candidates, end?: true }.` }),
      );
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
