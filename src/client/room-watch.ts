/**
 * Reading the room until something appears (docs/protocol.md, Room snapshot and Long-poll): the
 * first read at once; then a long-poll on the room's version when the server has `longpoll`, else
 * a read every roomPollIntervalMs. A closed room ends the wait with ClosedError.
 */
import { LONGPOLL_MAX_SEC, parseSnapshot, type RoomSnapshot } from "../protocol/index.ts";
import { ClosedError } from "./errors.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";

/** Long-poll hold we ask for; the server caps it at its own LONGPOLL_MAX_SEC. */
export const WAIT_SEC = LONGPOLL_MAX_SEC;

/** Resolves with what `pick` finds; `seen` is told every snapshot first. */
export async function watchRoom(
  ctx: Ctx,
  pick: (s: RoomSnapshot) => string | undefined,
  seen: (s: RoomSnapshot) => void,
  signal: AbortSignal,
  from?: { version: number; waitSec: number },
  holdSec: () => number = () => WAIT_SEC,
): Promise<string> {
  let version = from?.version;
  let wait = from?.waitSec ?? WAIT_SEC;
  let unchanged = false;
  for (;;) {
    // Long-poll: one URL for every read, the version cursor in If-None-Match, so the CORS
    // preflight of the first read is cached for all later ones. After a read that came back
    // unchanged (the hold ran out, or a response some cache should never have kept) the next one
    // carries the cursor in the URL: a replayed response can never loop.
    const longpoll = ctx.has("longpoll");
    const cursor = longpoll && version !== undefined;
    const inUrl = cursor && unchanged;
    const { body } = await ctx.get("", longpoll ? `?${inUrl ? `since=${version}&` : ""}wait=${wait}` : "", signal, cursor && !inUrl ? `"${version}"` : undefined);
    wait = holdSec();
    const snap = parseSnapshot(body);
    const v = snap.version ?? 0;
    unchanged = cursor && v <= version!;
    seen(snap);
    if (snap.status === "closed") throw new ClosedError();
    const found = pick(snap);
    if (found !== undefined) return found;
    version = v;
    if (!ctx.has("longpoll")) await ctx.timers.sleep(ctx.o.roomPollIntervalMs ?? CLIENT_DEFAULTS.roomPollIntervalMs, signal);
  }
}
