/** §5 limits at their edges (exactly at the cap passes, one over fails), §1 CSRF header, body parsing. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "./harness.ts";
import { SDP_OFFER, cand, createRoom, expectError, expectStatus, joinRoom, post, req, tok, type Room } from "./helpers.ts";
import { LIMITS } from "../../src/protocol/index.ts";

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

async function hostRoom(): Promise<{ room: Room; host: Record<string, string>; guest: Record<string, string> }> {
  const room = await createRoom(s.url);
  const guest = await joinRoom(s.url, room);
  return { room, host: tok(room.ownerToken), guest: tok(guest) };
}

/** A JSON offer body of exactly `bytes` bytes (SDP well within its own limit, padding in an ignored field). */
function offerBodyOfSize(bytes: number): string {
  const head = JSON.stringify({ type: "offer", sdp: SDP_OFFER, pad: "" });
  const pad = "x".repeat(bytes - Buffer.byteLength(head));
  const body = head.slice(0, -2) + pad + '"}';
  assert.equal(Buffer.byteLength(body), bytes);
  return body;
}

test("request body: exactly 64 KiB passes, one byte more is 413 body_too_large", async () => {
  const { room, host } = await hostRoom();
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, offerBodyOfSize(LIMITS.bodyBytes), host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/offer`, offerBodyOfSize(LIMITS.bodyBytes + 1), host), 413, "body_too_large");
  // Way over (1 MiB) too, and on POST /rooms.
  expectError(await post(s.url, "/rooms", JSON.stringify({ hostUserName: "a", pad: "y".repeat(1 << 20) })), 413, "body_too_large");
});

function chunked(body: string, chunkSize = 4096): ReadableStream<Uint8Array> {
  const bytes = Buffer.from(body);
  let off = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (off >= bytes.length) return ctrl.close();
      ctrl.enqueue(new Uint8Array(bytes.subarray(off, off + chunkSize)));
      off += chunkSize;
    },
  });
}

test("chunked bodies without Content-Length are capped too", async () => {
  const { room, host } = await hostRoom();
  const send = (body: string) =>
    req(`${s.url}/rooms/${room.code}/offer`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-registry-version": "1", ...host },
      body: chunked(body),
      duplex: "half",
    } as RequestInit);
  expectStatus(await send(offerBodyOfSize(LIMITS.bodyBytes)), 204);
  expectError(await send(offerBodyOfSize(LIMITS.bodyBytes + 1)), 413, "body_too_large");
  expectError(await send(offerBodyOfSize(4 * LIMITS.bodyBytes)), 413, "body_too_large");
});

test("SDP: 20 KiB UTF-8 passes, one byte more is 400 bad_sdp; v=0 and type checked", async () => {
  const { room, host, guest } = await hostRoom();
  const at = "v=0" + "a".repeat(LIMITS.sdpBytes - 3);
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: at }, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: at + "a" }, host), 400, "bad_sdp");
  // Counted in UTF-8 bytes, not characters: 'é' is 2 bytes.
  const multi = "v=0" + "a" + "é".repeat((LIMITS.sdpBytes - 4) / 2);
  assert.equal(Buffer.byteLength(multi), LIMITS.sdpBytes);
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: multi }, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: multi + "é" }, host), 400, "bad_sdp");
  for (const bad of [
    { type: "offer", sdp: "x=0\r\n" },
    { type: "offer", sdp: "" },
    { type: "offer", sdp: 42 },
    { type: "offer" },
    { type: "answer", sdp: SDP_OFFER },
    { sdp: SDP_OFFER },
  ]) {
    expectError(await post(s.url, `/rooms/${room.code}/offer`, bad, host), 400, "bad_sdp");
  }
  expectStatus(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/answer`, { type: "offer", sdp: SDP_OFFER }, guest), 400, "bad_sdp");
  expectError(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: "v=0" + "a".repeat(LIMITS.sdpBytes - 2) }, guest), 400, "bad_sdp");
  expectStatus(await post(s.url, `/rooms/${room.code}/answer`, { type: "answer", sdp: at }, guest), 204);
  // restart must be a boolean.
  expectError(await post(s.url, `/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER, restart: "yes" }, host), 400, "bad_request");
});

test("candidate string: 1 KiB passes, one byte more is 400 bad_candidate; must start with candidate: (or a=candidate:)", async () => {
  const { room, host } = await hostRoom();
  const at = "candidate:" + "1".repeat(LIMITS.candidateBytes - 10);
  expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, { candidate: at }, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/candidate`, { candidate: at + "1" }, host), 400, "bad_candidate");
  // The limit counts the line as stored, after an a= prefix is stripped.
  expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, { candidate: "a=" + at.replace("candidate:1", "candidate:2") }, host), 204);
  expectError(await post(s.url, `/rooms/${room.code}/candidate`, { candidate: "a=" + at + "1" }, host), 400, "bad_candidate");
  const other = ["A=candidate:1 1 udp", "a=candidat:1 1 udp", "a=a=candidate:1 1 udp", " candidate:1 1 udp", "a="];
  for (const bad of [...other.map((candidate) => ({ candidate })), { candidate: "" }, { candidate: 7 }, { candidate: null }]) {
    expectError(await post(s.url, `/rooms/${room.code}/candidate`, bad, host), 400, "bad_candidate");
  }
});

test("sdpMid: 64 characters pass, 65 fail; sdpMLineIndex 0..65535", async () => {
  const { room, host } = await hostRoom();
  const ok = [
    cand(1, { sdpMid: "m".repeat(LIMITS.sdpMidChars) }),
    cand(2, { sdpMid: "🎲".repeat(LIMITS.sdpMidChars) }), // characters, not UTF-16 units
    cand(3, { sdpMid: null, sdpMLineIndex: null }),
    cand(4, { sdpMLineIndex: 0 }),
    cand(5, { sdpMLineIndex: LIMITS.sdpMLineIndexMax }),
    { candidate: "candidate:6 1 udp 1 1.2.3.4 5 typ host" },
  ];
  for (const c of ok) expectStatus(await post(s.url, `/rooms/${room.code}/candidate`, c, host), 204);
  const bad = [
    cand(10, { sdpMid: "m".repeat(LIMITS.sdpMidChars + 1) }),
    cand(11, { sdpMid: 5 }),
    cand(12, { sdpMLineIndex: -1 }),
    cand(13, { sdpMLineIndex: LIMITS.sdpMLineIndexMax + 1 }),
    cand(14, { sdpMLineIndex: 1.5 }),
    cand(15, { sdpMLineIndex: "0" }),
    cand(16, { sdpMLineIndex: 1e308 }),
  ];
  for (const c of bad) expectError(await post(s.url, `/rooms/${room.code}/candidate`, c, host), 400, "bad_candidate");
});

test("user names: 1..32 code points, no control or bidi characters (host and guest)", async () => {
  const ok = ["a", "x".repeat(32), "🎲".repeat(32), "Zoë", "李小龍", "a b"];
  const bad: unknown[] = ["", "x".repeat(33), "🎲".repeat(33), 5, null, ["a"]];
  for (const cc of ["\u0000", "\u0009", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]) {
    bad.push(`ab${cc}cd`);
  }
  for (const name of ok) expectStatus(await post(s.url, "/rooms", { hostUserName: name }), 201);
  for (const name of bad) expectError(await post(s.url, "/rooms", { hostUserName: name }), 400, "bad_request");
  expectError(await post(s.url, "/rooms", {}), 400, "bad_request");
  for (const name of ok) {
    const room = await createRoom(s.url);
    expectStatus(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: name }), 200);
  }
  const room = await createRoom(s.url);
  for (const name of bad) expectError(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: name }), 400, "bad_request");
  // None of those refused joins consumed the room.
  expectStatus(await post(s.url, `/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "ok" }), 200);
});

test("CSRF header: missing X-Registry-Version is 403, another value is 400, on every POST", async () => {
  const { room, host } = await hostRoom();
  const paths: Array<[string, unknown]> = [
    ["/rooms", { hostUserName: "a" }],
    [`/rooms/${room.code}/join`, { joinCode: room.joinCode, guestUserName: "b" }],
    [`/rooms/${room.code}/offer`, { type: "offer", sdp: SDP_OFFER }],
    [`/rooms/${room.code}/answer`, { type: "answer", sdp: SDP_OFFER }],
    [`/rooms/${room.code}/candidate`, cand(1)],
    [`/rooms/${room.code}/close`, {}],
  ];
  for (const [path, body] of paths) {
    const missing = await req(s.url + path, { method: "POST", headers: { "content-type": "application/json", ...host }, body: JSON.stringify(body) });
    expectError(missing, 403, "forbidden");
    for (const v of ["2", "0", "1.0", "v1", ""]) {
      const wrong = await req(s.url + path, { method: "POST", headers: { "content-type": "application/json", "x-registry-version": v, ...host }, body: JSON.stringify(body) });
      expectError(wrong, 400, "bad_request");
    }
  }
  // Nothing above changed the room.
  const snap = await req(`${s.url}/rooms/${room.code}`, { headers: host });
  assert.equal(snap.status, 200);
  assert.equal(snap.body.offer, null);
});

test("bodies: wrong content type, malformed JSON, invalid UTF-8, wrong shapes are 400 bad_request", async () => {
  const { room, host } = await hostRoom();
  const raw = (path: string, body: BodyInit, ct?: string) =>
    req(s.url + path, { method: "POST", headers: { "x-registry-version": "1", ...(ct ? { "content-type": ct } : {}), ...host }, body });
  // text/plain is JSON too with ext `fast` (the simple form); fast.test.ts checks it is 400 without the feature.
  expectError(await raw("/rooms", JSON.stringify({ hostUserName: "a" }), "text/html"), 400, "bad_request");
  // No content type at all (a Blob without a type; a string body would be sent as text/plain).
  expectError(await raw("/rooms", new Blob([JSON.stringify({ hostUserName: "a" })])), 400, "bad_request");
  expectError(await raw("/rooms", JSON.stringify({ hostUserName: "a" }), "application/x-www-form-urlencoded"), 400, "bad_request");
  expectStatus(await raw("/rooms", JSON.stringify({ hostUserName: "a" }), "application/json; charset=utf-8"), 201);
  expectStatus(await raw("/rooms", JSON.stringify({ hostUserName: "a" }), "Application/JSON"), 201);
  expectError(await raw("/rooms", '{"hostUserName": "a"', "application/json"), 400, "bad_request");
  expectError(await raw("/rooms", "", "application/json"), 400, "bad_request");
  expectError(await raw("/rooms", new Uint8Array([0x7b, 0x22, 0x68, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), "application/json"), 400, "bad_request");
  for (const body of ["[]", "null", "42", '"x"', "true"]) {
    expectError(await raw("/rooms", body, "application/json"), 400, "bad_request");
    expectError(await raw(`/rooms/${room.code}/offer`, body, "application/json"), 400, "bad_request");
    expectError(await raw(`/rooms/${room.code}/candidate`, body, "application/json"), 400, "bad_request");
  }
  expectError(await raw(`/rooms/${room.code}/candidate`, "{}", "application/json"), 400, "bad_request");
  expectError(await raw(`/rooms/${room.code}/candidate`, '{"candidate":"candidate:1 1 udp 1 1.1.1.1 1 typ host","end":true}', "application/json"), 400, "bad_request");
  expectError(await raw(`/rooms/${room.code}/join`, "{}", "application/json"), 400, "bad_request");
  expectError(await raw(`/rooms/${room.code}/join`, '{"joinCode":12345678,"guestUserName":"x"}', "application/json"), 400, "bad_request");
});
