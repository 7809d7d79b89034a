/**
 * Offer and answer over the Registry (docs/protocol.md, Handshake and ICE restart): the host
 * offers and waits for the answer (bounded by answerTimeoutMs once a guest is in); the guest reads
 * the offer and answers; an ICE restart is a new offer the guest answers again. (ext `fast`) The
 * host's first offer went with the room (createRoom), the guest's answer carries its candidates and
 * brings the host's back, and the host's wait for the answer carries the candidate drain.
 */
import { LIMITS, checkSdp, parseSnapshot, parseWatchResult, utf8Length, type RoomSnapshot } from "../protocol/index.ts";
import { jitter } from "./backoff.ts";
import type { Ctx } from "./ctx.ts";
import type { HttpResult } from "./transport.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { AlreadyPairedError, BadSdpError, NoOfferError, SdpTooLargeError, TimeoutError } from "./errors.ts";
import type { RtcSession } from "./rtc.ts";
import { WAIT_SEC, watchRoom, type WatchOptions } from "./room-watch.ts";
import type { SentOffer } from "./room-admin.ts";
import type { CandidateBody } from "./types.ts";

export interface NegotiationHooks {
  rtc(): RtcSession;
  /** Before our description is made: the connection gets its current ICE servers (connectivity.ts). */
  prepare(restart: boolean): Promise<void>;
  /** Every room snapshot read. */
  seen(s: RoomSnapshot): void;
  /** The remote description is set (guest: before the answer goes out). */
  offerApplied(): void;
  /** Our candidates may go out now. */
  publish(): void;
  /** Offer/answer done: the ICE phase starts. */
  answered(): void;
  /** (ext `offer-watch`) The host's offer sent once the room existed, and its wait for the answer (once). */
  sentOffer(): SentOffer | undefined;
  /** (ext `fast`) The candidate drain, to ride along with the room reads and the answer. */
  drain: NonNullable<WatchOptions["drain"]>;
  /** (ext `fast`) Our candidates gathered so far (and the end mark when gathering is over), for the answer. */
  gathered(): { items: CandidateBody[]; end: boolean };
}

export class Negotiation {
  readonly #ctx: Ctx;
  readonly #h: NegotiationHooks;
  /** Host: the offer→answer bound, armed once a guest is in. */
  #answerTimer: number | undefined;
  /** Guest: the offer answered last (a restart offer is a different one). */
  #offerSeen: string | undefined;
  /** Host: ICE restarts done. */
  restarts = 0;
  /** Guest: the room's version right after our latest answer, when the server said (ETag). */
  #answeredAt: number | undefined;

  constructor(ctx: Ctx, hooks: NegotiationHooks) {
    this.#ctx = ctx;
    this.#h = hooks;
  }

  /** The first hold of the host's wait for the answer (see offer()). */
  #firstHold(): number {
    const ms = this.#ctx.o.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs;
    return Math.min(WAIT_SEC, Math.max(1, Math.ceil(ms / 1000)));
  }

  /**
   * Host (ext `offer-watch`): the first wait for the answer leaves now (createRoom, the room just
   * made), carrying the offer; offer() reads its reply. Its failure is offer()'s to report.
   */
  sendOffer(sdp: string): Promise<HttpResult<unknown>> {
    const body = { offer: { type: "offer", sdp }, for: "answer", since: this.#h.drain.cursor, wait: this.#firstHold() };
    const watch = this.#ctx.post("/watch", body);
    void watch.catch(() => {});
    return watch;
  }

  /** Host: offer (an ICE restart when `restart`), wait for the answer, apply it. */
  async offer(restart: boolean): Promise<void> {
    const ctx = this.#ctx;
    if (restart) this.restarts++;
    await this.#h.prepare(restart);
    // (ext `offer-watch`) The first offer went out once the room existed: only setLocalDescription
    // is left (its candidates are gathered from now on, with the ICE servers the room's answer
    // brought), and the first wait for the answer is already on its way.
    const sent = restart ? undefined : this.#h.sentOffer();
    // A new room is version 1.
    let version = sent === undefined ? undefined : 1;
    if (sent) {
      await this.#h.rtc().createOffer(false, sent.sdp);
    } else {
      const sdp = checkedSdp(await this.#h.rtc().createOffer(restart), "offer");
      const { headers } = await this.#postOffer(sdp, restart);
      const etag = /^"(\d+)"$/.exec(headers.get("ETag") ?? "");
      if (etag) version = Number(etag[1]);
    }
    ctx.dispatch({ type: "offer_posted" });
    this.#h.publish();
    // (ext) With the room's version known (the 204's ETag, or version 1 for an offer sent with
    // the room) the first `/watch` holds at once. A guest that joined before the offer is only
    // seen when that first hold ends, so it is no longer than the answer bound (which starts
    // then): a guest that never answers is noticed within 2 × that bound.
    const ms = ctx.o.answerTimeoutMs ?? CLIENT_DEFAULTS.answerTimeoutMs;
    const bound = this.#firstHold();
    const seen = (s: RoomSnapshot) => {
      this.#h.seen(s);
      // The offer→answer bound starts once a guest is in (before that, the room TTL bounds it).
      if (s.status === "joined" && this.#answerTimer === undefined) {
        this.#answerTimer = ctx.timers.set(() => ctx.fail(new TimeoutError(`No answer within ${ms} ms.`), true), ms);
      }
    };
    const fast = ctx.has("fast");
    const answer = await watchRoom(ctx, (s) => s.answer?.sdp, seen, ctx.signal, {
      ...(version === undefined ? {} : { from: { version, waitSec: bound } }),
      ...(fast ? { for: "answer" as const, drain: this.#h.drain } : {}),
      first: sent?.watch,
    });
    ctx.timers.cancel(this.#answerTimer);
    this.#answerTimer = undefined;
    await this.#h.rtc().acceptAnswer(answer);
    this.#h.answered();
  }

  /**
   * A paired room already has an answer to its offer: this host's earlier session (a "Try again"
   * after a failed connect). The new offer replaces it as a restart (the guest answers it again);
   * a server without restarts keeps the error.
   */
  async #postOffer(sdp: string, restart: boolean) {
    try {
      return await this.#ctx.post("/offer", restart ? { type: "offer", sdp, restart: true } : { type: "offer", sdp });
    } catch (err) {
      if (restart || !(err instanceof AlreadyPairedError) || !this.#ctx.has("restart")) throw err;
      return this.#ctx.post("/offer", { type: "offer", sdp, restart: true });
    }
  }

  /**
   * Guest: wait for an offer nobody answered yet, then answer it. An offer in a paired room was
   * answered by this guest's earlier session (a "Try again"): the host's new offer is awaited.
   */
  async awaitOffer(): Promise<void> {
    const fast = this.#ctx.has("fast") ? { for: "offer" as const, drain: this.#h.drain } : {};
    return this.answer(
      await watchRoom(
        this.#ctx,
        (s) => (s.status === "paired" ? undefined : s.offer?.sdp),
        this.#h.seen,
        this.#ctx.signal,
        fast,
      ),
    );
  }

  /** Guest: the next offer other than the one answered last, until `signal` aborts (short holds while `recovering`). */
  awaitRestart(signal: AbortSignal, recovering: () => boolean): Promise<string> {
    const pick = (s: RoomSnapshot) =>
      s.offer && s.offer.sdp !== this.#offerSeen && s.status !== "paired" ? s.offer.sdp : undefined;
    const hold = () => (recovering() ? CLIENT_DEFAULTS.recoveringHoldSec : WAIT_SEC);
    const v = this.#answeredAt;
    this.#answeredAt = undefined;
    return watchRoom(this.#ctx, pick, this.#h.seen, signal, {
      ...(v === undefined ? {} : { from: { version: v, waitSec: hold() } }),
      hold,
    });
  }

  /** Guest: apply the offer, post the answer; our candidates go out after it. */
  async answer(offer: string): Promise<void> {
    const restart = this.#offerSeen !== undefined;
    this.#offerSeen = offer;
    await this.#h.prepare(restart);
    const sdp = checkedSdp(await this.#h.rtc().acceptOffer(offer), "answer");
    // (ext `fast`) The answer carries what we gathered so far and asks for the host's candidates
    // after our cursor: the first read of the drain rides on it.
    // (Fields left undefined are not sent: JSON leaves them out.)
    let extra = {};
    if (this.#ctx.has("fast")) {
      const { items, end } = this.#h.gathered();
      extra = { candidates: items.length ? items : undefined, end: end || undefined, since: this.#h.drain.cursor };
    }
    const posted = this.#postAnswer(sdp, extra);
    // The offer is applied: read the host's candidates, usually stored already, while the answer
    // travels, not one round trip after it (they are applied once it landed).
    this.#h.offerApplied();
    await posted;
    // Ours go out after the answer: gathering has run meanwhile, so they leave in fewer batches
    // (measured: posting them next to the answer cost 1-2 more posts; the host does not wait for
    // them, it learns the guest from its connectivity checks).
    this.#h.publish();
    this.#h.answered();
  }

  /** 409 no_offer (the offer vanished, e.g. replaced): a few short jittered re-posts, then fail. */
  async #postAnswer(sdp: string, extra: object, attempt = 0): Promise<void> {
    const ctx = this.#ctx;
    try {
      const { body, headers } = await ctx.post("/answer", { type: "answer", sdp, ...extra });
      // (ext) The room's version after our answer: the offer watch long-polls from it, no read first.
      const etag = /^"(\d+)"$/.exec(headers.get("ETag") ?? "");
      this.#answeredAt = etag ? Number(etag[1]) : undefined;
      const page = parseWatchResult(body).candidates;
      if (page) this.#h.drain.feed(page);
    } catch (err) {
      // Our first post may have landed and only its response got lost (then retried): the room says.
      if (err instanceof AlreadyPairedError && (await this.#ourAnswerStored(sdp))) return;
      if (!(err instanceof NoOfferError) || attempt >= CLIENT_DEFAULTS.noOfferRetries) throw err;
      ctx.dispatch({ type: "error_noted", error: err });
      await ctx.timers.sleep(jitter(250, 2000, ctx.random), ctx.signal);
      return this.#postAnswer(sdp, extra, attempt + 1);
    }
  }

  async #ourAnswerStored(sdp: string): Promise<boolean> {
    // (A rare path: one read, preflighted also on the fast path.)
    const { body } = await this.#ctx.get("", this.#ctx.signal);
    return parseSnapshot(body).answer?.sdp === sdp;
  }
}

/** Validates our own SDP before any request. */
export function checkedSdp(sdp: string, type: "offer" | "answer"): string {
  if (utf8Length(sdp) > LIMITS.sdpBytes)
    throw new SdpTooLargeError(`The ${type} SDP exceeds ${LIMITS.sdpBytes} bytes.`);
  if (checkSdp(sdp, type, type) !== null) throw new BadSdpError(`The local ${type} SDP is invalid.`);
  return sdp;
}
