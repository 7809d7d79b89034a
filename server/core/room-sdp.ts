/**
 * The session descriptions (docs/protocol.md, Endpoints; Restart and ETags; Fast): the host's
 * offer (replaced while unanswered; ext `restart`: an ICE restart once paired) and the guest's
 * answer, which (ext `fast`) may carry the guest's candidates and ask for the host's. Pure.
 */
import * as v from "valibot";
import { LIMITS, checkSdp, isCursor, type Candidate } from "../../src/protocol/index.ts";
import { roomFull, sdpChars, sideChars, tooBig } from "./room-bytes.ts";
import { clearSide, page, storeCandidates, validateCandidateList } from "./room-candidates.ts";
import { NO_CHANGE, bump, enter, err, etagOf, has, isPlainObject } from "./room-record.ts";
import type { BodyInput, Done, OpContext, OpResult, RoomRecord, RoomReply } from "./room-types.ts";

const SdpBody = v.object({
  type: v.optional(v.unknown()),
  sdp: v.optional(v.unknown()),
  restart: v.optional(v.boolean()),
});

export function offer(rec: RoomRecord, body: BodyInput, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const shape = v.safeParse(SdpBody, body.value);
  if (!shape.success) return done(err("bad_request", { message: "restart must be a boolean." }));
  const { type, sdp, restart } = shape.output;
  if (restart === true && !has(config, "restart"))
    return done(err("bad_request", { message: "ICE restart is not supported." }));
  const why = checkSdp(sdp, "offer", type);
  if (why) return done(err("bad_sdp", { message: `Invalid offer: ${why}.` }));
  const offer = { type: "offer" as const, sdp: sdp as string };
  // What the room holds after this offer: a restart also drops the answer and the guest's candidates.
  const dropped =
    sdpChars(rec.offer) +
    sideChars(rec.candidates.host) +
    (restart === true && rec.status === "paired" ? sdpChars(rec.answer) + sideChars(rec.candidates.guest) : 0);
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

/**
 * (ext `offer-watch`) The host's first offer riding on its `/watch`: checked and stored as
 * `/offer` stores it, only while the room has none (a watch sent again after a lost reply finds
 * it stored). Null when there is nothing to refuse.
 */
export function firstOffer(rec: RoomRecord, value: unknown, ctx: OpContext): RoomReply | null {
  if (rec.offer) return null;
  const r = offer(rec, { kind: "json", value }, ctx, (reply) => ({
    record: rec,
    write: true,
    reply,
    changed: NO_CHANGE,
  }));
  return r.reply!.status < 300 ? null : r.reply;
}

// (ext `fast`) The answer may carry the guest's candidates and end mark, and ask for the
// host's candidates after a cursor in its reply.
const AnswerExtra = v.object({
  candidates: v.optional(v.pipe(v.array(v.unknown()), v.maxLength(LIMITS.batchItems))),
  end: v.optional(v.literal(true)),
  since: v.optional(v.custom<number>(isCursor)),
});

export function answer(rec: RoomRecord, body: BodyInput, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const shape = v.safeParse(SdpBody, body.value);
  if (!shape.success) return done(err("bad_request"));
  let extra: v.InferOutput<typeof AnswerExtra> = {};
  if (has(config, "fast")) {
    const x = v.safeParse(AnswerExtra, body.value);
    if (!x.success)
      return done(
        err("bad_request", {
          message: `candidates is at most ${LIMITS.batchItems} candidates, end is true, since a non-negative integer.`,
        }),
      );
    extra = x.output;
    if (extra.end && !has(config, "end"))
      return done(err("bad_request", { message: "End-of-candidates is not supported." }));
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
  return done(
    { status: 200, body: { candidates: page(rec.candidates.host, extra.since, config) }, etag: etagOf(rec) },
    changed,
    true,
  );
}
