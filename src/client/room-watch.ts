/**
 * Reading the room until something appears (docs/protocol.md, Room snapshot): the first read at
 * once, then a read every roomPollIntervalMs (the MVP). A closed room ends the wait with
 * ClosedError. (ext `fast`) The reads are `/watch` long-polls on the room's version: they may wait
 * for a description (a join does not wake the host waiting for the answer) and carry the candidate
 * drain along (its cursor out, a page back). The older `longpoll` GETs are not used: a server
 * without `fast` is read as the MVP.
 */
import {
  LONGPOLL_MAX_SEC,
  parseSnapshot,
  parseWatchResult,
  type CandidatePage,
  type RoomSnapshot,
  type WatchFor,
} from "../protocol/index.ts";
import { ClosedError } from "./errors.ts";
import type { Ctx } from "./ctx.ts";
import type { HttpResult } from "./transport.ts";
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
  /** The hold of every read after the first (default WAIT_SEC): shorter while recovering. */
  hold?: () => number;
  /** (ext `offer-watch`) The first read, already sent (the host's, carrying its offer). */
  first?: Promise<HttpResult<unknown>>;
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
  let first = o.first;
  for (;;) {
    const fast = ctx.has("fast");
    let snap: RoomSnapshot | undefined;
    if (fast) {
      // (ext `fast`) The description awaited, else the version once known (no cursor: at once).
      // (Fields left undefined are not sent: JSON leaves them out.)
      const r = parseWatchResult(
        (
          await (first ??
            ctx.post(
              "/watch",
              { for: o.for, version: o.for ? undefined : version, since: o.drain?.cursor, wait },
              signal,
            ))
        ).body,
      );
      first = undefined;
      if (r.candidates) o.drain?.feed(r.candidates);
      snap = r.room;
    } else snap = parseSnapshot((await ctx.get("", signal)).body);
    wait = o.hold?.() ?? WAIT_SEC;
    // (A watch answer without the room is not what a server with `fast` sends: poll, never spin.)
    if (snap) {
      seen(snap);
      if (snap.status === "closed") throw new ClosedError();
      const found = pick(snap);
      if (found !== undefined) return found;
      version = snap.version ?? version;
    }
    if (!snap || !ctx.has("fast"))
      await ctx.timers.sleep(ctx.o.roomPollIntervalMs ?? CLIENT_DEFAULTS.roomPollIntervalMs, signal);
  }
}
