/**
 * Reading the room until something appears (docs/protocol.md, Room snapshot and Long-poll): the
 * first read at once; then a long-poll on the room's version when the server has `longpoll`, else
 * a read every roomPollIntervalMs. A closed room ends the wait with ClosedError. (ext `fast`) The
 * reads are `/watch` long-polls: they may wait for a description (a join does not wake the host
 * waiting for the answer) and carry the candidate drain along (its cursor out, a page back).
 */
import { LONGPOLL_MAX_SEC, parseSnapshot, parseWatchResult, type CandidatePage, type RoomSnapshot, type WatchFor } from "../protocol/index.ts";
import { ClosedError } from "./errors.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";

/** Long-poll hold we ask for; the server caps it at its own LONGPOLL_MAX_SEC. */
export const WAIT_SEC = LONGPOLL_MAX_SEC;

export interface WatchOptions {
  /** Long-poll from this version (an ETag the server sent) with this first hold. */
  from?: { version: number; waitSec: number };
  /** (ext `fast`) Wait for this description rather than for any change. */
  for?: WatchFor;
  /** (ext `fast`) The candidate drain riding along: its cursor (undefined: done) and where pages go. */
  drain?: { readonly cursor: number | undefined; feed(page: CandidatePage): void };
}

/** Resolves with what `pick` finds; `seen` is told every snapshot first. */
export async function watchRoom(
  ctx: Ctx,
  pick: (s: RoomSnapshot) => string | undefined,
  seen: (s: RoomSnapshot) => void,
  signal: AbortSignal,
  o: WatchOptions = {},
): Promise<string> {
  let version = o.from?.version;
  let wait = o.from?.waitSec ?? WAIT_SEC;
  let unchanged = false;
  for (;;) {
    const fast = ctx.has("fast");
    const longpoll = ctx.has("longpoll");
    let snap: RoomSnapshot | undefined;
    if (fast) {
      // (ext `fast`) The description awaited, else the version once known (no cursor: at once).
      // (Fields left undefined are not sent: JSON leaves them out.)
      const r = parseWatchResult((await ctx.post("/watch", { for: o.for, version: o.for ? undefined : version, since: o.drain?.cursor, wait }, signal)).body);
      if (r.candidates) o.drain?.feed(r.candidates);
      snap = r.room;
    } else {
      // Long-poll: one URL for every read, the version cursor in If-None-Match, so the CORS
      // preflight of the first read is cached for all later ones. After a read that came back
      // unchanged (the hold ran out, or a response some cache should never have kept) the next
      // one carries the cursor in the URL: a replayed response can never loop.
      const cursor = longpoll && version !== undefined;
      const inUrl = cursor && unchanged;
      snap = parseSnapshot((await ctx.get("", longpoll ? `?${inUrl ? `since=${version}&` : ""}wait=${wait}` : "", signal, cursor && !inUrl ? `"${version}"` : undefined)).body);
      unchanged = cursor && (snap.version ?? 0) <= version!;
    }
    wait = WAIT_SEC;
    // (A watch answer without the room is not what a server with `fast` sends: poll, never spin.)
    if (snap) {
      seen(snap);
      if (snap.status === "closed") throw new ClosedError();
      const found = pick(snap);
      if (found !== undefined) return found;
      version = snap.version ?? (fast ? version : 0);
    }
    if (!snap || !(ctx.has("fast") || ctx.has("longpoll"))) await ctx.timers.sleep(ctx.o.roomPollIntervalMs ?? CLIENT_DEFAULTS.roomPollIntervalMs, signal);
  }
}
