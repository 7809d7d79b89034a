/**
 * The room admin calls before a session: createRoom, joinRoom, fetchPublic. Owns what their
 * answers bring for connect() (ext `fast`): the offer that went with the host's room and the
 * room and candidates the guest's join brought, each kept for its token.
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
import type { Transport } from "./transport.ts";
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
  fail(err: unknown): void;
  classify(err: unknown): RegistryError;
  prepare(ch: ChannelOptions, host: boolean): RtcSession;
}

/** A user name the server would refuse is refused here, before any request. */
function badName(name: string, who: string): void {
  if (checkUserName(name) !== null)
    throw new BadRequestError(`${who}UserName must be 1-32 characters without control characters.`);
}

export class RoomAdmin {
  readonly #h: AdminHost;
  /** (ext `fast`) The host's offer that went with its room, for its token. */
  #sentOffer: { token: string; sdp: string } | undefined;
  /** (ext `fast`) The room and the host's candidates the guest's join brought, for its token. */
  #joined: { token: string; room?: RoomSnapshot; candidates?: CandidatePage } | undefined;

  constructor(host: AdminHost) {
    this.#h = host;
  }

  /** The offer sent with the room, once, if it was for this token. */
  takeOffer(token: string | undefined): string | undefined {
    const sent = this.#sentOffer;
    this.#sentOffer = undefined;
    return sent && sent.token === token ? sent.sdp : undefined;
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
    // (ext `fast`) `prepare`: the connection and its channels are made now and the offer goes
    // with the room (setLocalDescription waits for connect(), after the room's answer). A local
    // failure here (e.g. an oversized offer) ends the session, as it would in connect().
    let sdp: string | undefined;
    if (input.prepare) {
      try {
        sdp = checkedSdp(await h.prepare(input.prepare, true).makeOffer(), "offer");
      } catch (err) {
        h.fail(err);
        throw err;
      }
    }
    try {
      const { body } = await h.transport.request({
        method: "POST",
        path: "/rooms",
        route: "/rooms",
        signal: h.signal,
        probe: true,
        body: { hostUserName: input.hostUserName, ...(sdp === undefined ? {} : { offer: { type: "offer", sdp } }) },
      });
      const r = parseCreateResult(body);
      h.conn.noteGrant(body);
      // Stored with the room only by a server with `fast` (others ignore the field).
      if (sdp !== undefined && h.transport.has("fast")) this.#sentOffer = { token: r.ownerToken, sdp };
      h.dispatch({ type: "created", code: r.code, token: r.ownerToken });
      return r;
    } catch (err) {
      throw this.#requestFailed(err);
    }
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
