/**
 * Joining a room (docs/protocol.md, Endpoints; Limits): the wrong-code budgets per source and
 * per room (sliding 60 s windows, checked before the code is looked at), the code check in
 * constant time, the guest's name, and (ext `fast`) the room and host candidates in the answer.
 * Pure.
 */
import * as v from "valibot";
import { checkUserName, normalizeUserName, type JoinRoomResult } from "../../src/protocol/index.ts";
import { timingSafeEqualHex } from "./crypto.ts";
import { WINDOW_MS } from "./ratelimit.ts";
import { roomFull, tooBig } from "./room-bytes.ts";
import { page } from "./room-candidates.ts";
import { enter, err, etagOf, gone, has, isPlainObject, snapshot } from "./room-record.ts";
import type { Done, OpContext, OpResult, RoomRecord, RoomRequest } from "./room-types.ts";

/** Most wrong-join entries a room keeps when its room-wide budget is switched off. */
const WRONG_JOINS_KEPT = 1024;

const JoinBody = v.object({ joinCode: v.string(), guestUserName: v.string() });

export function join(rec: RoomRecord, req: Extract<RoomRequest, { op: "join" }>, ctx: OpContext, done: Done): OpResult {
  const { now, config } = ctx;
  // A joiner is told why the room closed (the host may have given up: connection_failed).
  if (rec.status === "closed") return done(gone(rec));
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
      if (mine.length >= perSource)
        return done(err("rate_limited", retry(mine[mine.length - perSource]!.t)), null, pruned);
    }
    if (perRoom > 0 && keep.length >= perRoom)
      return done(err("rate_limited", retry(keep[keep.length - perRoom]!.t)), null, pruned);
  }
  const body = req.body;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"), null, pruned);
  const shape = v.safeParse(JoinBody, body.value);
  if (!shape.success)
    return done(err("bad_request", { message: "joinCode and guestUserName must be strings." }), null, pruned);
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
  if (has(config, "fast"))
    Object.assign(out, { room: snapshot(rec), candidates: page(rec.candidates.host, undefined, config) });
  return done({ status: 200, body: out, etag: etagOf(rec) }, { version: true }, true);
}
