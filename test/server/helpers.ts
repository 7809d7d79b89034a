/** Small HTTP helpers for the server tests: real fetch against a started Registry. */
import assert from "node:assert/strict";

export const JSON_POST = { "content-type": "application/json", "x-registry-version": "1" } as const;

export interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** fetch with a per-request timeout (no test may hang), returning the parsed body. */
export async function req(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Res> {
  const { timeoutMs = 10_000, ...rest } = init;
  const r = await fetch(url, { ...rest, signal: rest.signal ?? AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  let body: any;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: r.status, headers: r.headers, body, text };
}

export function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  extra: RequestInit = {},
): Promise<Res> {
  return req(base + path, {
    method: "POST",
    headers: { ...JSON_POST, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...extra,
  });
}

export function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  extra: RequestInit & { timeoutMs?: number } = {},
): Promise<Res> {
  return req(base + path, { method: "GET", headers, ...extra });
}

export const tok = (t: string) => ({ "x-access-token": t });

/** Asserts status and, for errors, the §6 envelope with the given code. */
export function expectError(r: Res, status: number, code: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.ok(r.body && typeof r.body === "object", `error body must be JSON: ${r.text}`);
  assert.equal(r.body.error?.code, code, `expected code ${code}, got ${r.text}`);
  assert.equal(typeof r.body.error.message, "string");
}

export function expectStatus(r: Res, status: number): void {
  assert.equal(r.status, status, `expected ${status}, got ${r.status} ${r.text}`);
}

export const SDP_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
export const SDP_ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
export const cand = (i: number, extra: Record<string, unknown> = {}) => ({
  candidate: `candidate:${i} 1 udp 2122260223 192.168.1.${i % 250} ${50000 + i} typ host`,
  sdpMid: "0",
  sdpMLineIndex: 0,
  ...extra,
});

export interface Room {
  code: string;
  ownerToken: string;
  joinCode: string;
  expiresAt: number;
}

export async function createRoom(base: string, hostUserName = "Alice"): Promise<Room> {
  const r = await post(base, "/rooms", { hostUserName });
  expectStatus(r, 201);
  return r.body as Room;
}

export async function joinRoom(base: string, room: Room, guestUserName = "Bob"): Promise<string> {
  const r = await post(base, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName });
  expectStatus(r, 200);
  return r.body.guestToken as string;
}

/** open → joined → offer → paired; returns the room and both tokens. */
export async function pairedRoom(base: string): Promise<{ room: Room; host: string; guest: string }> {
  const room = await createRoom(base);
  const guest = await joinRoom(base, room);
  expectStatus(
    await post(base, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, tok(room.ownerToken)),
    204,
  );
  expectStatus(await post(base, `/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_ANSWER }, tok(guest)), 204);
  return { room, host: room.ownerToken, guest };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A room code that is valid in form but (almost surely) unused. */
export const UNKNOWN_CODE = "ZZZZZZ";
