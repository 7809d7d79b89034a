/**
 * The bodies client and server exchange (docs/protocol.md, Endpoints): one type and, for what the
 * client reads, one parser each. Parsers take untrusted JSON and never throw: a field of the wrong
 * type reads as absent. Pure and tree-shakeable (no validation library in the client bundle).
 */
export type RoomStatus = "open" | "joined" | "paired" | "closed";

export interface OfferBody { type: "offer"; sdp: string }
export interface AnswerBody { type: "answer"; sdp: string }

/** POST /rooms → 201. */
export interface CreateRoomResult { code: string; ownerToken: string; joinCode: string; expiresAt: number }
/** POST /rooms/:code/join → 200. */
export interface JoinRoomResult { guestToken: string; expiresAt: number }
/** GET /rooms/:code/public → 200 (only while the room is open). */
export interface PublicRoomInfo { status: "open"; hostUserName: string; expiresAt: number }

/** GET /rooms/:code → 200 (docs/protocol.md, Room snapshot). */
export interface RoomSnapshot {
  status: RoomStatus;
  offer: OfferBody | null;
  answer: AnswerBody | null;
  updatedAt: number;
  expiresAt: number;
  hostUserName?: string;
  guestUserName?: string | null;
  /** (ext longpoll) the room's version: the long-poll cursor. */
  version?: number;
}

/** GET /rooms/:code/candidates → 200 (docs/protocol.md, Candidates). */
export interface CandidatePage {
  /** Untrusted until each item passes checkCandidate. */
  items: unknown[];
  mode?: "full" | "delta";
  /** The cursor for the next delta read (`since`). */
  lastSeq?: number;
  /** The other side posted its end-of-candidates mark. */
  complete: boolean;
}

export const obj = (x: unknown): Record<string, unknown> => (x !== null && typeof x === "object" ? (x as Record<string, unknown>) : {});

/** `template` with each field taken from `x` where it has the template value's type. */
function shaped<T extends object>(x: unknown, template: T): T {
  const o = obj(x);
  const out = { ...template } as Record<string, unknown>;
  for (const k in template) if (typeof o[k] === typeof template[k]) out[k] = o[k];
  return out as T;
}

function desc<T extends "offer" | "answer">(d: unknown, type: T): { type: T; sdp: string } | null {
  const sdp = obj(d).sdp;
  return typeof sdp === "string" ? { type, sdp } : null;
}

export function parseSnapshot(x: unknown): RoomSnapshot {
  const o = obj(x);
  const snap: RoomSnapshot = {
    status: (["open", "joined", "paired", "closed"] as const).find((s) => s === o.status) ?? "open",
    offer: desc(o.offer, "offer"),
    answer: desc(o.answer, "answer"),
    ...shaped(o, { updatedAt: 0, expiresAt: 0 }),
  };
  if (typeof o.hostUserName === "string") snap.hostUserName = o.hostUserName;
  if (typeof o.guestUserName === "string" || o.guestUserName === null) snap.guestUserName = o.guestUserName;
  if (typeof o.version === "number") snap.version = o.version;
  return snap;
}

export function parseCandidatePage(x: unknown): CandidatePage {
  const o = obj(x);
  const page: CandidatePage = { items: Array.isArray(o.items) ? o.items : [], complete: o.complete === true };
  if (typeof o.lastSeq === "number") page.lastSeq = o.lastSeq;
  return page;
}

export const parseCreateResult = (x: unknown): CreateRoomResult => shaped(x, { code: "", ownerToken: "", joinCode: "", expiresAt: 0 });
export const parseJoinResult = (x: unknown): JoinRoomResult => shaped(x, { guestToken: "", expiresAt: 0 });
export const parsePublicInfo = (x: unknown): PublicRoomInfo => ({ ...shaped(x, { hostUserName: "", expiresAt: 0 }), status: "open" });
