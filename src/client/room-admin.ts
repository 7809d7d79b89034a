/**
 * The room admin calls before a session: createRoom, joinRoom, fetchPublic. Owns what their
 * answers bring for connect() (ext `fast`): the host's offer sent once its room exists (ext
 * `offer-watch`, on the host's first wait for the answer) and the room and candidates the
 * guest's join brought, each kept for its token.
 */
import {
  checkUserName,
  normalizeJoinCode,
  normalizeRoomCode,
  parseCreateResult,
  parseJoinResult,
  parsePublicInfo,
  parseWatchResult,
  type CandidatePage,
} from "../protocol/index.ts";
import type { Connectivity } from "./connectivity.ts";
import {
  AlreadyPairedError,
  BadJoinCodeError,
  BadRequestError,
  ClosedError,
  NotFoundError,
  type RegistryError,
  TransitionError,
} from "./errors.ts";
import { checkedSdp } from "./negotiation.ts";
import type { RtcSession } from "./rtc.ts";
import type { ChannelOptions } from "./session.ts";
import type { Action } from "./state.ts";
import type { HttpResult, Transport } from "./transport.ts";
import type {
  CreateRoomInput,
  CreateRoomResult,
  JoinRoomInput,
  JoinRoomResult,
  PublicRoomInfo,
  RoomSnapshot,
} from "./types.ts";

/** What the admin calls use of the client. */
export interface AdminHost {
  readonly transport: Transport;
  /** Aborted when the client ends. */
  readonly signal: AbortSignal;
  readonly conn: Connectivity;
  guard(type: Action["type"]): void;
  dispatch(a: Action): void;
  fail(err: unknown, notifyServer?: boolean): void;
  classify(err: unknown): RegistryError;
  prepare(ch: ChannelOptions, host: boolean): RtcSession;
  /** (ext `offer-watch`) The host's first wait for the answer, carrying the offer: sent now, read by connect(). */
  sendOffer(sdp: string): Promise<HttpResult<unknown>>;
}

/** (ext `offer-watch`) The host's offer and the wait for the answer that carries it. */
export interface SentOffer {
  sdp: string;
  watch: Promise<HttpResult<unknown>>;
}

/** A user name the server would refuse is refused here, before any request. */
function badName(name: string, who: string): void {
  if (checkUserName(name) !== null)
    throw new BadRequestError(`${who}UserName must be 1-32 characters without control characters.`);
}

export class RoomAdmin {
  readonly #h: AdminHost;
  /** (ext `offer-watch`) The host's offer sent once its room existed, for its token. */
  #sentOffer: (SentOffer & { token: string }) | undefined;
  /** (ext `fast`) The room and the host's candidates the guest's join brought, for its token. */
  #joined: { token: string; room?: RoomSnapshot; candidates?: CandidatePage } | undefined;

  constructor(host: AdminHost) {
    this.#h = host;
  }

  /** The offer sent for the room, once, if it was for this token. */
  takeOffer(token: string | undefined): SentOffer | undefined {
    const sent = this.#sentOffer;
    this.#sentOffer = undefined;
    return sent && sent.token === token ? sent : undefined;
  }

  /** What the join brought, once, if it was for this token. */
  takeJoined(token: string): { room?: RoomSnapshot; candidates?: CandidatePage } | undefined {
    const joined = this.#joined?.token === token ? this.#joined : undefined;
    this.#joined = undefined;
    return joined;
  }

  async createRoom(input: CreateRoomInput): Promise<CreateRoomResult> {
    const h = this.#h;
    h.guard("create");
    badName(input.hostUserName, "host");
    h.dispatch({ type: "create" });
    // (ext `offer-watch`) `prepare`: the connection and its channels are made first (a connection
    // the browser refuses ends the session before any request), then the offer is made while the
    // create travels; setLocalDescription waits for connect(), after the room's answer brought the
    // ICE servers.
    let offering: Promise<string> | undefined;
    try {
      if (input.prepare) offering = h.prepare(input.prepare, true).makeOffer();
    } catch (err) {
      h.fail(err);
      throw err;
    }
    void offering?.catch(() => {});
    const creating = h.transport.request({
      method: "POST",
      path: "/rooms",
      route: "/rooms",
      signal: h.signal,
      probe: true,
      body: { hostUserName: input.hostUserName },
    });
    let r: CreateRoomResult;
    try {
      const { body } = await creating;
      r = parseCreateResult(body);
      h.conn.noteGrant(body);
    } catch (err) {
      throw this.#requestFailed(err);
    }
    h.dispatch({ type: "created", code: r.code, token: r.ownerToken });
    if (offering) {
      // A local failure (e.g. an oversized offer) ends the session, as it would in connect(); the
      // room made meanwhile is closed.
      let sdp: string;
      try {
        sdp = checkedSdp(await offering, "offer");
      } catch (err) {
        h.fail(err, true);
        throw err;
      }
      // Without `offer-watch` (it rides on `fast`'s `/watch`), connect() posts an offer (`/offer`).
      if (h.transport.has("fast") && h.transport.has("offer-watch"))
        this.#sentOffer = { token: r.ownerToken, sdp, watch: h.sendOffer(sdp) };
    }
    return r;
  }

  async fetchPublic(code: string): Promise<PublicRoomInfo | null> {
    const h = this.#h;
    if (h.signal.aborted) throw new TransitionError("the client is closed");
    const c = normalizeRoomCode(code);
    if (c === null) return null; // cannot exist: no request
    try {
      const { body } = await h.transport.request({
        method: "GET",
        path: `/rooms/${c}/public`,
        route: "/rooms/:code/public",
        signal: h.signal,
        idempotent: true,
      });
      return parsePublicInfo(body);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async joinRoom(input: JoinRoomInput): Promise<JoinRoomResult> {
    const h = this.#h;
    h.guard("join");
    const code = normalizeRoomCode(input.code);
    const joinCode = normalizeJoinCode(input.joinCode);
    // Checked locally first: a malformed code costs no request and no wrong-code strike.
    if (code === null) throw new NotFoundError("The room code is malformed.");
    if (joinCode === null) throw new BadJoinCodeError("The join code is malformed.");
    badName(input.guestUserName, "guest");
    h.dispatch({ type: "join" });
    const joining = h.transport.request({
      method: "POST",
      path: `/rooms/${code}/join`,
      route: "/rooms/:code/join",
      body: { joinCode, guestUserName: input.guestUserName },
      signal: h.signal,
      probe: true,
    });
    // (ext `fast`) The connection is made while the join travels: after its fetch started
    // (making it takes the main thread several ms), before its answer. A connection the browser
    // refuses ends the session, as in connect() (the join is abandoned).
    try {
      if (input.prepare) h.prepare(input.prepare, false);
    } catch (err) {
      void joining.catch(() => {});
      h.fail(err);
      throw err;
    }
    try {
      const { body } = await joining;
      const r = parseJoinResult(body);
      h.conn.noteGrant(body);
      // (ext `fast`) The offer and the host's candidates so far: connect() answers without a read.
      if (h.transport.has("fast")) this.#joined = { token: r.guestToken, ...parseWatchResult(body) };
      h.dispatch({ type: "joined", code, token: r.guestToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
  }

  /** createRoom/joinRoom failed: a closed or paired room ends this client; else back to idle. */
  #requestFailed(err: unknown): unknown {
    const h = this.#h;
    if (h.signal.aborted) return new TransitionError("the client was closed");
    if (err instanceof ClosedError || err instanceof AlreadyPairedError) {
      // The error the session ends with is the one the caller gets (one report, not two).
      const e = h.classify(err);
      h.fail(e);
      return e;
    }
    h.dispatch({ type: "request_failed", error: err as RegistryError });
    return err;
  }
}
