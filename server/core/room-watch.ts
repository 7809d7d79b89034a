/**
 * (ext `fast`) `watch` (docs/protocol.md, Fast): one long-poll for the room and the other
 * side's candidates, cursors in the body; (ext `offer-watch`) the host's first offer may ride on
 * it. Pure.
 */
import * as v from "valibot";
import { isCursor } from "../../src/protocol/index.ts";
import { page } from "./room-candidates.ts";
import { err, etagOf, has, isPlainObject, snapshot } from "./room-record.ts";
import { firstOffer } from "./room-sdp.ts";
import type { BodyInput, Done, Hold, OpContext, OpResult, RoomRecord, Side } from "./room-types.ts";

const WatchBody = v.object({
  version: v.optional(v.custom<number>(isCursor)),
  for: v.optional(v.picklist(["offer", "answer"])),
  since: v.optional(v.custom<number>(isCursor)),
  wait: v.optional(v.custom<number>(isCursor)),
  offer: v.optional(v.unknown()),
});

/**
 * (ext `fast`) One long-poll for the room and the other side's candidates. Answers at once
 * when there is news for any cursor given (a newer version, the awaited description, newer
 * candidates or the end mark), else holds until there is, or until `wait` runs out.
 */
export function watch(rec: RoomRecord, side: Side, body: BodyInput, ctx: OpContext, done: Done, hold: Hold): OpResult {
  const { config } = ctx;
  if (body.kind !== "json" || !isPlainObject(body.value)) return done(err("bad_request"));
  const parsed = v.safeParse(WatchBody, body.value);
  if (!parsed.success)
    return done(
      err("bad_request", { message: 'version, since and wait are non-negative integers; for is "offer" or "answer".' }),
    );
  const w = parsed.output;
  // (ext `offer-watch`) The host's first offer, stored before the watch looks for news.
  let stored = false;
  if (w.offer !== undefined && has(config, "offer-watch")) {
    if (side !== "host") return done(err("forbidden", { message: "This role may not do that." }));
    const had = rec.offer !== null;
    const refused = firstOffer(rec, w.offer, ctx);
    if (refused) return done(refused);
    stored = !had;
  }
  const other: Side = side === "host" ? "guest" : "host";
  const candidates = w.since === undefined ? undefined : page(rec.candidates[other], w.since, config);
  const watching = w.version !== undefined || w.for !== undefined || candidates !== undefined;
  const news =
    // The host's own offer is no news to it.
    (w.version !== undefined && rec.version > w.version + (stored ? 1 : 0)) ||
    (w.for !== undefined && rec[w.for] !== null) ||
    (candidates !== undefined && (candidates.items.length > 0 || candidates.complete));
  const holdMs = Math.min((w.wait ?? 0) * 1000, config.longpollMaxMs);
  if (watching && !news && holdMs > 0 && !ctx.final) {
    return hold({ on: WATCH_ON[other], ms: holdMs }, stored);
  }
  return done(
    { status: 200, body: { room: snapshot(rec), ...(candidates && { candidates }) }, etag: etagOf(rec) },
    stored ? { version: true, host: true } : null,
    stored,
  );
}

const WATCH_ON = { host: ["version", "host"], guest: ["version", "guest"] } as const;
