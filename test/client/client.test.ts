import { expect } from "@open-wc/testing";
import * as E from "../../src/client/errors.ts";
import { CLIENT_DEFAULTS } from "../../src/client/client.ts";
import type { RegistryClientEvents } from "../../src/client/types.ts";
import {
  FakeRegistry,
  MockFetch,
  MockTimers,
  err,
  harness,
  linkPeers,
  openGuest,
  sleeps,
  type Harness,
  type MockPeerConnection,
  MockPeerConnection as MockPeerConnectionClass,
} from "./fixtures/index.ts";

const C = (n: number) => `candidate:${n} 1 udp 2122260223 192.168.1.${n % 250} ${5000 + n} typ host generation 0`;
const swallow = (p: Promise<unknown>) => p.catch((e: unknown) => e);

/** A host connected to a FakeRegistry, offer posted, waiting for the answer. */
async function hostWaiting(
  features: "legacy" | "fast" | "none" | string = "legacy",
  opts: Parameters<typeof harness>[0] = {},
) {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  const h = harness({ mf, ...opts });
  const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
  await h.timers.advance(0);
  return { mf, reg, h, done, pc: h.rtc.pcs[0]! };
}

/** A guest on a room that has an offer, answer posted, draining. */
async function guestDraining(
  features: "legacy" | "fast" | "none" | string = "legacy",
  opts: Parameters<typeof harness>[0] = {},
) {
  const mf = new MockFetch();
  const reg = new FakeRegistry(mf, features);
  reg.status = "joined";
  reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
  const h = harness({ mf, ...opts });
  const done = swallow(
    h.client.connect({
      role: "guest",
      code: reg.code,
      accessToken: reg.guestToken,
      ...(opts as { connect?: object }).connect,
    }),
  );
  await h.timers.advance(0);
  return { mf, reg, h, done, pc: h.rtc.pcs[0]! };
}

function openHost(pc: MockPeerConnection) {
  pc.setConnectionState("connected");
  for (const dc of pc.channels) dc.open();
}

function expectReleased(h: Harness, pc?: MockPeerConnection) {
  expect(h.timers.pending, "timers left").to.equal(0);
  expect(h.mf.pendingCount, "requests left").to.equal(0);
  if (pc) {
    expect(pc.totalListeners(), "listeners left").to.equal(0);
    expect(pc.closed).to.equal(true);
  }
  expect(h.closes.length, "exactly one onClose").to.equal(1);
}

describe("RegistryClient: room admin", () => {
  it("createRoom: POST /rooms with the CSRF header; phase waiting_guest; illegal second call throws TransitionError", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    const r = await h.client.createRoom({ hostUserName: "Alice" });
    expect(r).to.deep.equal({
      code: "ABC123",
      ownerToken: new FakeRegistry(new MockFetch()).ownerToken,
      joinCode: "JQ2M7K4P",
      expiresAt: 900_000,
    });
    // (ext fast) The first request goes in the simple form (no preflight); a server without
    // `fast` refuses it (403, nothing done) and it goes again with the CSRF header.
    expect(mf.calls[0]!.headers["content-type"]).to.match(/^text\/plain/);
    expect(mf.calls[0]!.headers["x-registry-version"]).to.equal(undefined);
    expect(mf.calls[0]!.body.v).to.equal(1);
    expect(mf.calls[1]!.headers["x-registry-version"]).to.equal("1");
    expect(mf.calls.length).to.equal(2);
    expect(h.client.getState()).to.include({ phase: "waiting_guest", role: "host", code: "ABC123" });
    const e = await swallow(h.client.createRoom({ hostUserName: "Alice" }));
    expect(e).to.be.instanceOf(E.TransitionError);
    expect(
      await swallow(h.client.joinRoom({ code: "ABC123", joinCode: "JQ2M7K4P", guestUserName: "B" })),
    ).to.be.instanceOf(E.TransitionError);
  });

  it("createRoom: a bad name is refused locally; a server error returns to idle with lastError", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    expect(await swallow(h.client.createRoom({ hostUserName: "" }))).to.be.instanceOf(E.BadRequestError);
    expect(await swallow(h.client.createRoom({ hostUserName: "a\u202Eb" }))).to.be.instanceOf(E.BadRequestError);
    expect(mf.calls.length).to.equal(0);
    mf.script("POST /rooms", err("rate_limited", 429, { retryAfterSec: 60 }));
    const e = await swallow(h.client.createRoom({ hostUserName: "Alice" }));
    expect(e).to.be.instanceOf(E.RateLimitedError);
    expect(h.client.getState().phase).to.equal("idle");
    expect(h.client.getState().lastError).to.deep.include({ code: "rate_limited", retryAfterSec: 60, retryable: true });
    expect((await h.client.createRoom({ hostUserName: "Alice" })).code).to.equal("ABC123");
  });

  it("createRoom: 429 with a short retryAfterSec is retried and surfaced in lastError meanwhile", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    mf.script("POST /rooms", err("rate_limited", 429, { retryAfterSec: 1 }));
    const p = h.client.createRoom({ hostUserName: "Alice" });
    await h.timers.advance(0);
    expect(h.client.getState().lastError?.retryAfterSec).to.equal(1);
    expect(h.client.getState().phase).to.equal("creating_room");
    await h.timers.advance(1300);
    expect((await p).code).to.equal("ABC123");
  });

  it("joinRoom: normalises codes, refuses malformed ones locally, maps bad_join_code", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    expect(
      await swallow(h.client.joinRoom({ code: "ABC", joinCode: "JQ2M7K4P", guestUserName: "Bob" })),
    ).to.be.instanceOf(E.NotFoundError);
    expect(
      await swallow(h.client.joinRoom({ code: "ABC123", joinCode: "short", guestUserName: "Bob" })),
    ).to.be.instanceOf(E.BadJoinCodeError);
    expect(
      await swallow(h.client.joinRoom({ code: "ABC123", joinCode: "JQ2M7K4P", guestUserName: "\u0007" })),
    ).to.be.instanceOf(E.BadRequestError);
    expect(mf.calls.length).to.equal(0);
    expect(
      await swallow(h.client.joinRoom({ code: "ABC123", joinCode: "JQ2M7K4Q", guestUserName: "Bob" })),
    ).to.be.instanceOf(E.BadJoinCodeError);
    expect(h.client.getState().phase).to.equal("idle");
    const r = await h.client.joinRoom({ code: "abc 123", joinCode: "jq2m-7k4p", guestUserName: "Bob" });
    expect(r.guestToken).to.equal(reg.guestToken);
    expect(mf.calls.at(-1)!.body).to.deep.equal({ joinCode: "JQ2M7K4P", guestUserName: "Bob" });
    expect(h.client.getState()).to.include({
      phase: "idle",
      role: "guest",
      code: "ABC123",
      accessToken: reg.guestToken,
    });
  });

  it("joinRoom: already_paired → closed (one onClose); 410 closed → closed", async () => {
    for (const [status, why] of [
      ["paired", "already_paired"],
      ["closed", "closed"],
    ] as const) {
      const mf = new MockFetch();
      const reg = new FakeRegistry(mf, "legacy");
      reg.status = status;
      const h = harness({ mf });
      const e = await swallow(h.client.joinRoom({ code: "ABC123", joinCode: "JQ2M7K4P", guestUserName: "Bob" }));
      expect((e as E.RegistryError).code).to.equal(why);
      expect(h.client.getState().phase).to.equal("closed");
      expect(h.closes).to.deep.equal([why]);
      expect(h.timers.pending).to.equal(0);
      expect(await swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: "x" }))).to.be.instanceOf(
        E.TransitionError,
      );
    }
  });

  it("fetchPublic: info, null for 404, null without a request for a malformed code, throws other errors", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    expect(await h.client.fetchPublic("abc123")).to.deep.equal({
      status: "open",
      hostUserName: "Alice",
      expiresAt: 900_000,
    });
    expect(await h.client.fetchPublic("ZZZ999")).to.equal(null);
    const n = mf.calls.length;
    expect(await h.client.fetchPublic("??")).to.equal(null);
    expect(mf.calls.length).to.equal(n);
    reg.status = "joined";
    expect(await h.client.fetchPublic("ABC123")).to.equal(null);
    mf.script("GET /rooms/:code/public", err("rate_limited", 429, { retryAfterSec: 30 }));
    expect(await swallow(h.client.fetchPublic("ABC123"))).to.be.instanceOf(E.RateLimitedError);
    h.client.close();
    expect(await swallow(h.client.fetchPublic("ABC123"))).to.be.instanceOf(E.TransitionError);
  });

  it("close() during createRoom rejects it with TransitionError and leaves nothing behind", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    mf.on("POST /rooms", () => new Promise(() => {}));
    const h = harness({ mf });
    const p = swallow(h.client.createRoom({ hostUserName: "Alice" }));
    await h.timers.advance(0);
    h.client.close();
    expect(await p).to.be.instanceOf(E.TransitionError);
    expectReleased(h);
    expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(0); // no room yet: nothing to close
  });
});

describe("RegistryClient: host session", () => {
  it("creates channels before the offer, posts the offer at once, reads the room at once", async () => {
    const { mf, h, pc } = await hostWaiting("legacy");
    expect(pc.channels.map((d) => d.label)).to.deep.equal(["data"]);
    expect(pc.channels[0]!.ordered).to.equal(true);
    const routes = mf.calls.map((c) => `${c.method} ${c.route}`);
    // A server without `fast` is read as the MVP: at once, then every roomPollIntervalMs.
    expect(routes).to.deep.equal(["POST /rooms/:code/offer", "GET /rooms/:code"]);
    expect(mf.callsTo("GET /rooms/:code/candidates").length).to.equal(0); // no drain before a guest is in
    expect(sleeps(h.timers.pendingDelays())).to.deep.equal([1000]);
    expect(h.client.getState().phase).to.equal("polling_room");
    expect(h.named("onPeerConnection")[0]![0]).to.equal(pc);
    expect(h.client.getState().rtc!.dc).to.equal(pc.channels[0]);
    expect(h.client.getRoomSnapshot()).to.deep.include({
      status: "open",
      offer: { type: "offer", sdp: pc.localDescription!.sdp },
      answer: null,
      version: 2,
    });
    h.client.close();
  });

  it("MVP: polls the room every roomPollIntervalMs until the answer, then applies it", async () => {
    const { mf, reg, h, pc, done } = await hostWaiting("none");
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(1);
    await h.timers.advance(1000);
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(2);
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    await h.timers.advance(1000);
    expect(pc.remoteDescription).to.deep.equal({ type: "answer", sdp: "v=0\r\nanswer" });
    expect(h.client.getState().phase).to.equal("draining_ice");
    const polls = mf.callsTo("GET /rooms/:code").length;
    openHost(pc);
    await done;
    await h.timers.advance(10_000);
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(polls); // room polling stopped once paired
    h.client.close();
  });

  it("(ext fast) the wait for the answer is one held /watch: no timers, no GET", async () => {
    const { mf, reg, h, pc } = await hostWaiting("fast");
    expect(mf.calls.map((c) => `${c.method} ${c.route}`)).to.deep.equal([
      "POST /rooms/:code/offer",
      "POST /rooms/:code/watch",
    ]);
    expect(mf.callsTo("POST /rooms/:code/watch")[0]!.body).to.include({ for: "answer", wait: 25 });
    expect(reg.held).to.equal(1);
    expect(sleeps(h.timers.pendingDelays())).to.deep.equal([]); // only the request's own time bound
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(pc.remoteDescription?.type).to.equal("answer");
    expect(mf.callsTo("GET /rooms/:code").length).to.equal(0);
    h.client.close();
  });

  it("(ext) an offer answered with ETag: the host's first /watch holds no longer than the answer bound", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    reg.writeEtags = true;
    const h = harness({ mf, options: { answerTimeoutMs: 5000 } });
    const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    expect(mf.calls.map((c) => `${c.method} ${c.route}`)).to.deep.equal([
      "POST /rooms/:code/offer",
      "POST /rooms/:code/watch",
    ]);
    // The first hold is no longer than the answer bound (5 s): a guest that joined before the
    // offer is seen by then (a join does not wake a wait for the answer), and the bound starts.
    expect(mf.callsTo("POST /rooms/:code/watch")[0]!.body).to.include({ for: "answer", wait: 5 });
    expect(reg.held).to.equal(1);
    expect(sleeps(h.timers.pendingDelays())).to.deep.equal([]); // only the request's own time bound
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(pc.remoteDescription?.type).to.equal("answer");
    openHost(pc);
    expect(await done).to.equal(undefined);
    h.client.close();
  });

  it("an ETag on the offer: not used by the MVP reads or when not a plain version; first hold ≤ the answer bound", async () => {
    const cases = [
      ["none", undefined, undefined, undefined],
      ["legacy", undefined, undefined, undefined],
      ["fast", 'W/"2"', undefined, 25],
      ["fast", undefined, undefined, 25],
      ["fast", undefined, 300, 1],
    ] as const;
    for (const [features, etag, answerTimeoutMs, wait] of cases) {
      const mf = new MockFetch();
      const reg = new FakeRegistry(mf, features);
      reg.writeEtags = true;
      if (etag) mf.script("POST /rooms/:code/offer", { status: 204, headers: { ETag: etag } });
      const h = harness({ mf, options: answerTimeoutMs === undefined ? {} : { answerTimeoutMs } });
      void swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
      await h.timers.advance(0);
      const read = mf.calls[1]!;
      if (wait === undefined) expect([read.route, read.query.toString()]).to.deep.equal(["/rooms/:code", ""]);
      else expect([read.route, read.body.wait]).to.deep.equal(["/rooms/:code/watch", wait]);
      h.client.close();
    }
  });

  it("room closed while waiting: closed, timers and listeners released, one onClose", async () => {
    const { reg, h, pc, done } = await hostWaiting("none");
    reg.close();
    await h.timers.advance(1000);
    expect(h.client.getState().phase).to.equal("closed");
    expect(h.closes).to.deep.equal(["closed"]);
    expect(await done).to.be.instanceOf(E.ClosedError);
    expectReleased(h, pc);
  });

  it("403 / 404 / 410 on the offer are terminal: error (403, 404) or closed (410), nothing retried", async () => {
    for (const [reply, phase, code] of [
      [err("forbidden", 403), "error", "forbidden"],
      [err("not_found", 404), "error", "not_found"],
      [err("closed", 410), "closed", "closed"],
    ] as const) {
      const mf = new MockFetch();
      new FakeRegistry(mf, "legacy");
      mf.script("POST /rooms/:code/offer", reply);
      const h = harness({ mf });
      const e = await swallow(h.client.connect({ role: "host", code: "ABC123", accessToken: "tok" }));
      expect((e as E.RegistryError).code).to.equal(code);
      expect(h.client.getState().phase).to.equal(phase);
      expect(h.client.getState().lastError?.code).to.equal(code);
      expect(h.errors.map((x) => (x as E.RegistryError).code)).to.deep.equal([code]);
      expect(mf.callsTo("POST /rooms/:code/offer").length).to.equal(1);
      expectReleased(h, h.rtc.pcs[0]);
    }
  });

  it("5xx on the room poll, then recovery", async () => {
    const { mf, reg, h, pc } = await hostWaiting("none");
    mf.script("GET /rooms/:code", err("unavailable", 503), err("internal", 500));
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    await h.timers.advance(1000);
    await h.timers.advance(3000);
    expect(pc.remoteDescription?.type).to.equal("answer");
    expect(h.client.getState().phase).to.equal("draining_ice");
    h.client.close();
  });

  it("oversize local SDP is rejected before any request", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf, rtc: { sdpSize: 21 * 1024 } });
    const e = await swallow(h.client.connect({ role: "host", code: "ABC123", accessToken: "tok" }));
    expect(e).to.be.instanceOf(E.SdpTooLargeError);
    expect(mf.calls.length).to.equal(0);
    expect(h.client.getState().phase).to.equal("error");
  });

  it("an invalid (non v=0) local SDP is refused locally too", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf, rtc: { sdp: "bogus" } });
    const p = swallow(h.client.connect({ role: "host", code: "ABC123", accessToken: "tok" }));
    expect(await p).to.be.instanceOf(E.BadSdpError);
    expect(mf.calls.length).to.equal(0);
  });

  it("answer timeout counts from the guest's arrival, then error and a best-effort close", async () => {
    const { mf, reg, h, done } = await hostWaiting("none", { options: { answerTimeoutMs: 5000 } });
    await h.timers.advance(30_000); // no guest yet: no timeout
    expect(h.client.getState().phase).to.equal("polling_room");
    reg.status = "joined";
    await h.timers.advance(1000);
    await h.timers.advance(5000);
    expect(await done).to.be.instanceOf(E.TimeoutError);
    expect(h.client.getState().phase).to.equal("error");
    expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(1);
    expectReleased(h);
  });

  it("publishes candidates only after the offer, dedupes, caps at 40, rejects oversize before any request", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    mf.on("POST /rooms/:code/offer", () => new Promise(() => {}));
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "host", code: "ABC123", accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    pc.emitCandidate(C(1));
    await h.timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/candidate").length).to.equal(0);
    h.client.close();

    const w = await hostWaiting("none");
    for (let i = 0; i < 45; i++) w.pc.emitCandidate(C(i));
    w.pc.emitCandidate(C(3));
    w.pc.emitCandidate(`candidate:${"x".repeat(1030)}`);
    await w.h.timers.advance(0);
    await w.h.timers.advance(0);
    const posts = w.mf.callsTo("POST /rooms/:code/candidate");
    expect(posts.length).to.equal(40);
    expect(posts.map((c) => c.body.candidate)).to.deep.equal(Array.from({ length: 40 }, (_, i) => C(i)));
    expect(posts.some((c) => c.body.candidate.length > 1024)).to.equal(false);
    expect(w.h.errors.filter((e) => e instanceof E.TooManyCandidatesError).length).to.equal(1);
    expect(w.h.errors.filter((e) => e instanceof E.CandidateTooLargeError).length).to.equal(1);
    expect(w.h.named("onCandidateLocal").length).to.equal(40);
    expect(w.h.client.getState().rtc!.localCandidates.size).to.equal(40);
    w.h.client.close();
  });

  it("batch + end: candidates arriving during an in-flight post go out as one batch with the end mark", async () => {
    const { mf, h, pc, reg } = await hostWaiting("legacy");
    let release!: () => void;
    mf.on(
      "POST /rooms/:code/candidate",
      (call) =>
        new Promise((res) => {
          release = () => {
            for (const c of call.body.items) reg.addCandidate("host", c.candidate, c.sdpMid, c.sdpMLineIndex);
            res({ status: 204 });
          };
        }),
    );
    pc.emitCandidate(C(1));
    await h.timers.advance(0);
    pc.emitCandidate(C(2));
    pc.emitCandidate(C(3));
    pc.emitCandidate(null);
    release();
    await h.timers.advance(0);
    release();
    await h.timers.advance(0);
    const posts = mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body);
    expect(posts).to.deep.equal([
      { items: [{ candidate: C(1), sdpMid: "0", sdpMLineIndex: 0 }] },
      {
        items: [
          { candidate: C(2), sdpMid: "0", sdpMLineIndex: 0 },
          { candidate: C(3), sdpMid: "0", sdpMLineIndex: 0 },
        ],
        end: true,
      },
    ]);
    h.client.close();
  });

  it("batch + fast: the end mark is never posted alone (the other side's drain is held either way), it rides with candidates; without fast it goes alone", async () => {
    const item = (n: number) => ({ candidate: C(n), sdpMid: "0", sdpMLineIndex: 0 });
    const a = await hostWaiting("fast");
    a.pc.emitCandidate(C(1));
    await a.h.timers.advance(20); // (fast) the first post waits 20 ms for the rest of the burst
    a.pc.emitCandidate(null);
    await a.h.timers.advance(0);
    expect(a.mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body.items)).to.deep.equal([[item(1)]]);
    expect(a.mf.callsTo("POST /rooms/:code/candidate")[0]!.body.end).to.equal(undefined);
    a.pc.emitCandidate(C(2));
    await a.h.timers.advance(0);
    expect(a.mf.callsTo("POST /rooms/:code/candidate").map((c) => [c.body.items, c.body.end ?? false])).to.deep.equal([
      [[item(1)], false],
      [[item(2)], true],
    ]);
    a.h.client.close();
    // Full-set polling: the end mark lets the other side stop polling, so it goes alone.
    const b = await hostWaiting("batch, end");
    b.pc.emitCandidate(C(1));
    await b.h.timers.advance(0);
    b.pc.emitCandidate(null);
    await b.h.timers.advance(0);
    expect(b.mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body)).to.deep.equal([
      { items: [item(1)] },
      { items: [], end: true },
    ]);
    b.h.client.close();
  });

  it("end without batch: items one by one, then {end:true} alone; no end mark when not advertised", async () => {
    const a = await hostWaiting("end");
    a.pc.emitCandidate(C(1));
    a.pc.emitCandidate(null);
    await a.h.timers.advance(0);
    expect(a.mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body)).to.deep.equal([
      { candidate: C(1), sdpMid: "0", sdpMLineIndex: 0 },
      { end: true },
    ]);
    a.h.client.close();
    const b = await hostWaiting("none");
    b.pc.emitCandidate(C(1));
    b.pc.emitCandidate(null);
    await b.h.timers.advance(0);
    expect(b.mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body)).to.deep.equal([
      { candidate: C(1), sdpMid: "0", sdpMLineIndex: 0 },
    ]);
    b.h.client.close();
  });

  it("a failed candidate post is reported but not fatal; 410 on it closes", async () => {
    const { mf, h, pc } = await hostWaiting("none");
    mf.script("POST /rooms/:code/candidate", err("bad_candidate", 400));
    pc.emitCandidate(C(1));
    pc.emitCandidate(C(2));
    await h.timers.advance(0);
    expect(h.errors.map((e) => (e as E.RegistryError).code)).to.deep.equal(["bad_candidate"]);
    expect(mf.callsTo("POST /rooms/:code/candidate").length).to.equal(2);
    expect(h.client.getState().phase).to.equal("polling_room");
    mf.script("POST /rooms/:code/candidate", err("closed", 410));
    pc.emitCandidate(C(3));
    await h.timers.advance(0);
    expect(h.client.getState().phase).to.equal("closed");
    expectReleased(h, pc);
  });

  it("remote candidates that arrive before the answer are queued, then applied after it", async () => {
    const { reg, h, pc } = await hostWaiting("none");
    reg.status = "joined";
    reg.addCandidate("guest", C(7));
    await h.timers.advance(1000); // poll sees joined: drain starts
    await h.timers.advance(1500);
    expect(pc.added).to.deep.equal([]);
    expect(h.named("onCandidateRemote").length).to.equal(0);
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    await h.timers.advance(1000);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(7)]);
    expect(h.named("onCandidateRemote").length).to.equal(1);
    h.client.close();
  });
});

/** The connect bound's two timers (armed once both descriptions are set), told apart from drain timers. */
function splitDelays(delays: number[], connectMs: number = CLIENT_DEFAULTS.connectTimeoutMs): number[] {
  const bound = [connectMs / 2, connectMs];
  expect(delays.filter((d) => bound.includes(d))).to.deep.equal(bound);
  return delays.filter((d) => !bound.includes(d));
}

describe("RegistryClient: guest session", () => {
  it("reads the offer, answers, drains full sets with set-difference every 1–1.5 s (MVP)", async () => {
    const { mf, reg, h, pc } = await guestDraining("none");
    expect(pc.remoteDescription).to.deep.equal({ type: "offer", sdp: "v=0\r\noffer" });
    expect(reg.answer?.sdp).to.equal(pc.localDescription!.sdp);
    expect(h.client.getState().phase).to.equal("draining_ice");
    reg.addCandidate("host", C(1));
    reg.addCandidate("host", C(2));
    await h.timers.advance(1500);
    reg.addCandidate("host", C(3));
    await h.timers.advance(1500);
    await h.timers.advance(1500);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(1), C(2), C(3)]);
    const drains = mf.callsTo("GET /rooms/:code/candidates");
    expect(drains.length).to.be.at.least(3);
    expect(drains.every((c) => !c.query.has("since"))).to.equal(true);
    for (const d of sleeps(splitDelays(h.timers.delays))) expect(d).to.be.within(1000, 1500);
    h.client.close();
  });

  it('tolerates mode:"delta" and unknown fields from an MVP server', async () => {
    const { mf, h, pc } = await guestDraining("none");
    mf.script("GET /rooms/:code/candidates", {
      status: 200,
      body: {
        items: [{ candidate: C(1), sdpMid: "0", sdpMLineIndex: 0, future: true }],
        mode: "delta",
        lastSeq: 1,
        cursor: "x",
        extra: [1],
      },
    });
    await h.timers.advance(1500);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(1)]);
    expect(h.client.getState().phase).to.equal("draining_ice");
    h.client.close();
  });

  it("(ext fast) the drain: cursor from lastSeq, complete → end-of-candidates applied once, drain stops", async () => {
    // A connect bound longer than the 10 s looked at (that bound has its own tests).
    const { mf, reg, h, pc } = await guestDraining("fast", { options: { connectTimeoutMs: 60_000 } });
    const drains = () => mf.callsTo("POST /rooms/:code/watch").filter((c) => c.body.since !== undefined);
    const before = drains().length;
    expect(before).to.be.greaterThan(0);
    reg.addCandidate("host", C(1));
    await h.timers.advance(0);
    reg.addCandidate("host", C(2));
    await h.timers.advance(0);
    reg.markEnd("host");
    await h.timers.advance(0);
    expect(drains().map((c) => c.body.since)).to.deep.equal([0, 1, 2].slice(-drains().length));
    expect(pc.added).to.deep.equal([
      { candidate: C(1), sdpMid: "0", sdpMLineIndex: 0 },
      { candidate: C(2), sdpMid: "0", sdpMLineIndex: 0 },
      undefined,
    ]);
    const n = drains().length;
    await h.timers.advance(10_000);
    expect(drains().length).to.equal(n);
    // The connect bound is armed (60 s; its half, 30 s, cannot be told from a 25 s hold's own bound here).
    expect(h.timers.delays).to.include(60_000);
    expect(sleeps(h.timers.delays).filter((d) => d !== 60_000)).to.deep.equal([]);
    h.client.close();
  });

  it("no_offer on the answer: bounded jittered retries ≤ 2 s, then success", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    mf.script("POST /rooms/:code/answer", err("no_offer", 409), err("no_offer", 409));
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(4000);
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(3);
    expect(h.client.getState().phase).to.equal("draining_ice");
    const retryDelays = sleeps(h.timers.delays).slice(0, 2);
    for (const d of retryDelays) expect(d).to.be.within(250, 2000);
    h.client.close();
  });

  it("no_offer forever: gives up after the bound (error phase, one onClose)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    mf.on("POST /rooms/:code/answer", () => err("no_offer", 409));
    const h = harness({ mf });
    const done = swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(20_000);
    expect(await done).to.be.instanceOf(E.NoOfferError);
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(CLIENT_DEFAULTS.noOfferRetries + 1);
    expect(h.client.getState().phase).to.equal("error");
    expectReleased(h, h.rtc.pcs[0]);
  });

  it("already_paired on the answer → closed", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    mf.script("POST /rooms/:code/answer", err("already_paired", 409));
    const h = harness({ mf });
    const done = swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(0);
    expect(await done).to.be.instanceOf(E.AlreadyPairedError);
    expect(h.client.getState().phase).to.equal("closed");
    expect(h.closes).to.deep.equal(["already_paired"]);
    expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(0); // never closes someone else's pairing
  });

  it("reads the host's candidates while its answer is in flight, applies them once it landed; posts its own after it", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    reg.addCandidate("host", C(1));
    reg.markEnd("host");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    mf.on("POST /rooms/:code/answer", async (call) => {
      await gate;
      reg.answer = { type: "answer", sdp: call.body.sdp };
      reg.status = "paired";
      return { status: 204 };
    });
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    pc.emitCandidate(C(2));
    await h.timers.advance(0);
    expect(h.client.getState().phase).to.equal("posting_answer");
    // Read already, applied only once the answer landed (a host without our answer cannot answer checks).
    expect(mf.callsTo("GET /rooms/:code/candidates").length).to.equal(1);
    expect(pc.added).to.deep.equal([]);
    expect(mf.callsTo("POST /rooms/:code/candidate").length).to.equal(0);
    release();
    await h.timers.advance(0);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(1), undefined]);
    expect(h.client.getState().phase).to.equal("draining_ice");
    expect(reg.cands.guest.map((x) => x.c.candidate)).to.deep.equal([C(2)]);
    h.client.close();
  });

  it("MVP: no drain before the offer; the room is read every 1000 ms", async () => {
    const mf2 = new MockFetch();
    const reg2 = new FakeRegistry(mf2, "none");
    const h2 = harness({ mf: mf2 });
    const j2 = await h2.client.joinRoom({ code: reg2.code, joinCode: reg2.joinCode, guestUserName: "Bob" });
    void swallow(h2.client.connect({ role: "guest", code: reg2.code, accessToken: j2.guestToken }));
    await h2.timers.advance(3000);
    expect(mf2.callsTo("GET /rooms/:code").length).to.equal(4); // §3.2: every 1000 ms
    expect(mf2.callsTo("GET /rooms/:code/candidates").length).to.equal(0);
    h2.client.close();
  });

  it("waits for the offer (a held /watch once `fast` is known), then answers", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    reg.status = "joined";
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(0);
    expect(h.client.getState().phase).to.equal("posting_answer");
    // features unknown before the first response (no join): a plain first read, then the version watch
    expect(mf.callsTo("GET /rooms/:code").map((c) => c.query.toString())).to.deep.equal([""]);
    expect(mf.callsTo("POST /rooms/:code/watch").map((c) => c.body)).to.deep.equal([
      { v: 1, token: reg.guestToken, version: 1, wait: 25 },
    ]);
    expect(reg.held).to.equal(1);
    reg.offer = { type: "offer", sdp: "v=0\r\nlate offer" };
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(reg.answer).to.not.equal(null);
    expect(h.client.getState().phase).to.equal("draining_ice");
    h.client.close();
  });

  it("non-negotiated: adopts the announced channels by label, closes unexpected ones; open with the reliable one", async () => {
    const { h, pc, done } = await guestDraining("none", { connect: { unreliable: true } } as never);
    const stray = pc.announceChannel("stray");
    expect(stray.readyState).to.equal("closed");
    const u = pc.announceChannel("unreliable", { ordered: false, maxRetransmits: 0 });
    u.open(); // the unreliable one alone does not open the session
    expect(h.client.getState().phase).to.equal("draining_ice");
    u.readyState = "connecting";
    const dc = pc.announceChannel("data");
    const dup = pc.announceChannel("data");
    expect(dup.readyState).to.equal("closed");
    expect(h.client.getState().rtc!.dc).to.equal(dc);
    expect(h.client.getState().rtc!.unreliableDc).to.equal(u);
    pc.setConnectionState("connected");
    dc.open();
    await done;
    expect(h.client.getState().phase).to.equal("open");
    // unreliable not open yet: the reliable channel carries the packet
    expect(h.client.send("early", { reliable: false })).to.equal(true);
    expect(dc.sent).to.deep.equal(["early"]);
    u.open();
    expect(h.client.send("late", { reliable: false })).to.equal(true);
    expect(u.sent).to.deep.equal(["late"]);
    expect(h.named("onDataChannel").length).to.equal(2);
    expect(h.named("onOpen").length).to.equal(1);
    h.client.close();
  });

  it("a host whose reliable channel has another label: the guest fails with channel_mismatch within channelWaitMs", async () => {
    const { mf, h, pc, done } = await guestDraining("none");
    pc.setConnectionState("connected");
    const foreign = pc.announceChannel("chat");
    expect(foreign.readyState).to.equal("closed");
    await h.timers.advance(CLIENT_DEFAULTS.channelWaitMs - 1);
    expect(h.client.getState().phase).to.equal("connecting_rtc");
    await h.timers.advance(1);
    const e = await done;
    expect(e).to.be.instanceOf(E.ChannelMismatchError);
    expect((e as E.RegistryError).code).to.equal("channel_mismatch");
    expect((e as Error).message).to.match(/another name/);
    expect(h.client.getState().phase).to.equal("error");
    expect(h.errors.map((x) => (x as E.RegistryError).code)).to.deep.equal(["channel_mismatch"]);
    // the host is told the room is over
    expect(mf.callsTo("POST /rooms/:code/close").map((c) => c.body.reason)).to.deep.equal(["channel_mismatch"]);
    await h.timers.advance(0);
    expectReleased(h, pc);
  });

  it("a foreign channel followed by the expected one is only closed (no error)", async () => {
    const { h, pc, done } = await guestDraining("none");
    pc.announceChannel("chat");
    const dc = pc.announceChannel("data");
    pc.setConnectionState("connected");
    dc.open();
    await done;
    await h.timers.advance(CLIENT_DEFAULTS.channelWaitMs);
    expect(h.client.getState().phase).to.equal("open");
    expect(h.errors).to.deep.equal([]);
    h.client.close();
  });

  it("a guest that did not ask for the unreliable channel adopts the host's (any label), never closes it", async () => {
    const { h, pc, done } = await guestDraining("none");
    const dc = pc.announceChannel("data");
    const u = pc.announceChannel("fast", { ordered: false, maxRetransmits: 0 });
    expect(u.readyState).to.equal("connecting");
    expect(h.client.getState().rtc!.unreliableDc).to.equal(u);
    // a second unreliable one is a duplicate
    const dup = pc.announceChannel("unreliable", { ordered: true, maxRetransmits: 2 });
    expect(dup.readyState).to.equal("closed");
    dc.open();
    await done;
    u.open();
    expect(h.client.send("x", { reliable: false })).to.equal(true);
    expect(u.sent).to.deep.equal(["x"]);
    u.dispatchEvent(new MessageEvent("message", { data: "u" }));
    expect(h.named("onMessage")).to.deep.equal([["u", { reliable: false }]]);
    h.client.close();
  });

  it("negotiated channels are created on both sides up front with their ids (the control channel after them)", async () => {
    const { h, pc } = await guestDraining("none", {
      connect: { dataChannel: { negotiated: true, id: 5 }, unreliable: { negotiated: true, label: "fast" } },
    } as never);
    expect(pc.channels.map((d) => [d.label, d.id, d.negotiated, d.ordered, d.maxRetransmits])).to.deep.equal([
      ["data", 5, true, true, null],
      ["fast", 1, true, false, 0],
      ["registry-peer-control", 1001, true, false, 0],
    ]);
    h.client.close();
  });

  it("negotiated without ids defaults to 0", async () => {
    const { h, pc } = await guestDraining("none", {
      connect: { dataChannel: { negotiated: true, label: "x", ordered: false, maxRetransmits: 3 } },
    } as never);
    expect(pc.channels.map((d) => [d.label, d.id, d.ordered, d.maxRetransmits])).to.deep.equal([
      ["x", 0, false, 3],
      ["registry-peer-control", 1001, false, 0],
    ]);
    h.client.close();
  });

  it("the room closing while waiting for the offer ends the session", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "fast");
    reg.status = "joined";
    const h = harness({ mf });
    const done = swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(0);
    reg.close();
    await h.timers.advance(0);
    expect(await done).to.be.instanceOf(E.ClosedError);
    expectReleased(h, h.rtc.pcs[0]);
  });

  it("410 on the drain closes the session", async () => {
    const { reg, h, pc } = await guestDraining("none");
    reg.close();
    await h.timers.advance(1500);
    expect(h.client.getState().phase).to.equal("closed");
    expectReleased(h, pc);
  });

  it("410 on the drain after open (the other side closed the room) is one onClose, no onError", async () => {
    const { reg, h, pc } = await guestDraining("none");
    pc.setConnectionState("connected");
    pc.announceChannel("data").open();
    expect(h.client.getState().phase).to.equal("open");
    reg.close(); // the drain still runs for its grace cycles after open
    await h.timers.advance(1500);
    expect(h.client.getState().phase).to.equal("closed");
    expect(h.closes).to.deep.equal(["closed"]);
    expect(h.named("onError")).to.deep.equal([]);
    expectReleased(h, pc);
  });
});

describe("RegistryClient: open session", () => {
  async function opened(features: "legacy" | "fast" | "none" = "none", options = {}) {
    const g = await guestDraining(features, { options, connect: { unreliable: true } } as never);
    const dc = g.pc.announceChannel("data");
    const u = g.pc.announceChannel("unreliable");
    g.pc.setConnectionState("connected");
    dc.open();
    u.open();
    await g.done;
    return { ...g, dc, u };
  }

  it("send() before open throws TransitionError", async () => {
    const { h } = await guestDraining("none");
    expect(() => h.client.send("x")).to.throw(E.TransitionError);
    const fresh = harness();
    expect(() => fresh.client.send("x")).to.throw(E.TransitionError);
    expect(fresh.client.getBufferedAmount()).to.equal(0);
    expect(fresh.client.getRoomSnapshot()).to.equal(null);
    h.client.close();
  });

  it("connect twice is a TransitionError", async () => {
    const { h } = await guestDraining("none");
    expect(await swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: "t" }))).to.be.instanceOf(
      E.TransitionError,
    );
    h.client.close();
  });

  it("sends on the chosen channel; messages arrive with their channel", async () => {
    const { h, dc, u } = await opened();
    expect(h.client.send("a")).to.equal(true);
    expect(h.client.send(new ArrayBuffer(3), { reliable: false })).to.equal(true);
    expect(dc.sent).to.deep.equal(["a"]);
    expect(u.sent.length).to.equal(1);
    u.dispatchEvent(new MessageEvent("message", { data: "u" }));
    dc.dispatchEvent(new MessageEvent("message", { data: "r" }));
    expect(h.named("onMessage")).to.deep.equal([
      ["u", { reliable: false }],
      ["r", { reliable: true }],
    ]);
    h.client.close();
  });

  it("end of gathering after open posts no end mark; a late candidate is still posted", async () => {
    const { h, mf, pc } = await opened("legacy");
    pc.emitCandidate(null);
    await h.timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/candidate").length).to.equal(0);
    pc.emitCandidate(C(7));
    await h.timers.advance(0);
    expect(mf.callsTo("POST /rooms/:code/candidate").map((c) => c.body)).to.deep.equal([
      { items: [{ candidate: C(7), sdpMid: "0", sdpMLineIndex: 0 }] },
    ]);
    h.client.close();
  });

  // Whether or not the guest asked for an unreliable channel: it opens with the host's reliable
  // one alone, and reliable:false falls back to it.
  for (const [what, opts] of [
    ["without an unreliable channel", {}],
    ["when the guest asked for one the host did not create", { connect: { unreliable: true } }],
  ] as const) {
    it(`reliable:false ${what} falls back to the reliable one`, async () => {
      const { h, pc, done } = await guestDraining("none", opts as never);
      const dc = pc.announceChannel("data");
      dc.open();
      await done;
      expect(h.client.send("x", { reliable: false })).to.equal(true);
      expect(dc.sent).to.deep.equal(["x"]);
      h.client.close();
    });
  }

  it("backpressure: false above the threshold, onDrain when bufferedamountlow follows a refusal", async () => {
    const { h, dc } = await opened("none", { backpressureThreshold: 1000 });
    expect(dc.bufferedAmountLowThreshold).to.equal(250);
    dc.holdBuffered = true;
    expect(h.client.send(new Uint8Array(900))).to.equal(true); // empty queue: always accepted
    expect(h.client.send("x".repeat(200))).to.equal(false);
    expect(h.client.getBufferedAmount()).to.equal(900);
    dc.drainTo(100);
    expect(h.named("onDrain").length).to.equal(1);
    dc.drainTo(300);
    dc.drainTo(0);
    expect(h.named("onDrain").length).to.equal(1); // only after a refusal
    expect(h.client.send("x".repeat(100))).to.equal(true);
    h.client.close();
  });

  it("a full browser queue (OperationError) is backpressure, other send errors propagate", async () => {
    const { h, dc } = await opened("none", { bufferedAmountLowThreshold: 10 });
    expect(dc.bufferedAmountLowThreshold).to.equal(10);
    dc.throwOnSend = new DOMException("send queue is full", "OperationError");
    expect(h.client.send("x")).to.equal(false);
    dc.throwOnSend = new TypeError("too big");
    expect(() => h.client.send("x")).to.throw(TypeError);
    h.client.close();
  });

  it("drain stops after open, after a grace of ~2 cycles (MVP)", async () => {
    const { mf, h } = await opened("none");
    const at = mf.callsTo("GET /rooms/:code/candidates").length;
    await h.timers.advance(2 * 1500);
    const after = mf.callsTo("GET /rooms/:code/candidates").length;
    expect(after - at).to.be.within(1, 3);
    await h.timers.advance(20_000);
    expect(mf.callsTo("GET /rooms/:code/candidates").length).to.equal(after);
    // Nothing scheduled while open and idle but the heartbeat and stats ticks.
    expect(h.timers.pending).to.equal(2);
    h.client.close();
  });

  it("drain stops after open with a custom interval, and with the fast path (held /watch aborted)", async () => {
    const a = await opened("none", { iceDrainIntervalMs: 200 });
    await a.h.timers.advance(400);
    const n = a.mf.callsTo("GET /rooms/:code/candidates").length;
    await a.h.timers.advance(5000);
    expect(a.mf.callsTo("GET /rooms/:code/candidates").length).to.equal(n);
    a.h.client.close();
    const b = await opened("fast");
    await b.h.timers.advance(3000);
    // The drain's held /watch is aborted; what stays is the guest's offer watch (one held /watch).
    const aborted = b.mf.calls.filter((c) => c.aborted);
    expect(aborted.map((c) => [c.route, c.body.since !== undefined])).to.deep.equal([["/rooms/:code/watch", true]]);
    expect(b.mf.pendingCount).to.equal(1);
    const last = b.mf.calls.filter((c) => !c.aborted).at(-1)!;
    expect([last.route, last.body.since, typeof last.body.version]).to.deep.equal([
      "/rooms/:code/watch",
      undefined,
      "number",
    ]);
    b.h.client.close();
  });

  it("channels opening before the answer step finished: open right after it", async () => {
    const { reg, h, pc, done } = await hostWaiting("none");
    openHost(pc);
    expect(h.client.getState().phase).to.equal("polling_room");
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    await h.timers.advance(1000);
    await done;
    expect(h.client.getState().phase).to.equal("open");
    h.client.close();
  });

  it("disconnected is not terminal: reconnecting, then reconnected; a recovery that never succeeds ends at the window", async () => {
    const { h, pc } = await opened("none", { disconnectGraceMs: 3000, reconnectWindowMs: 20_000 });
    await h.timers.advance(5000);
    pc.setConnectionState("disconnected");
    pc.setConnectionState("disconnected");
    expect(h.named("onReconnecting")).to.deep.equal([[{ reason: "disconnected" }]]);
    await h.timers.advance(2000);
    pc.setConnectionState("connected");
    await h.timers.advance(10_000);
    expect(h.named("onReconnected")).to.deep.equal([[{ afterMs: 2000 }]]);
    expect(h.client.getState().phase).to.equal("open");
    expect(h.closes).to.deep.equal([]);
    pc.setConnectionState("disconnected");
    await h.timers.advance(19_999);
    expect(h.closes).to.deep.equal([]);
    await h.timers.advance(1);
    // The Registry kept answering us meanwhile: it is the other side that is gone.
    expect(h.closes).to.deep.equal(["peer_unresponsive"]);
    expectReleased(h, pc);
  });

  it("the other side leaving is always noticed: DC close, failed, closed → exactly one onClose", async () => {
    for (const [act, why] of [
      [(x: Awaited<ReturnType<typeof opened>>) => x.dc.remoteClose(), "peer_closed"],
      // ICE "failed" after open is recovered (restart.test.ts); the channel closing is the end.
      [(x: Awaited<ReturnType<typeof opened>>) => x.pc.setConnectionState("failed"), "peer_closed"],
      [(x: Awaited<ReturnType<typeof opened>>) => x.pc.setConnectionState("closed"), "connection_closed"],
    ] as const) {
      const x = await opened("none");
      act(x);
      x.u.remoteClose();
      x.pc.setConnectionState("failed");
      await x.h.timers.advance(100);
      expect(x.h.closes).to.deep.equal([why]);
      expect(x.h.client.getState().phase).to.equal("closed");
      expect(x.mf.callsTo("POST /rooms/:code/close").map((c) => c.body)).to.deep.equal([{ reason: why }]);
      expectReleased(x.h, x.pc);
    }
  });

  it("close(): posts /close once, best effort; idempotent; never throws, even if fetch throws", async () => {
    const { mf, h, pc } = await opened("legacy");
    h.client.close("x".repeat(500));
    h.client.close();
    await h.timers.advance(0);
    const closes = mf.callsTo("POST /rooms/:code/close");
    expect(closes.length).to.equal(1);
    expect(closes[0]!.body.reason.length).to.equal(200);
    expect(closes[0]!.headers["x-access-token"]).to.equal(new FakeRegistry(new MockFetch()).guestToken);
    // keepalive: the browser still sends it while the page unloads; nothing else asks for it
    expect(closes[0]!.keepalive).to.equal(true);
    expect(mf.calls.filter((c) => c.keepalive).length).to.equal(1);
    expectReleased(h, pc);
    expect(() => h.client.send("x")).to.throw(E.TransitionError);

    const mf2 = new MockFetch();
    const reg2 = new FakeRegistry(mf2, "legacy");
    const h2 = harness({ mf: mf2 });
    await h2.client.createRoom({ hostUserName: "A" });
    mf2.fetchImpl = () => {
      throw new Error("sync throw");
    };
    (h2.client as unknown as { transport: { o: { fetchImpl: unknown } } }).transport.o.fetchImpl = mf2.fetchImpl;
    expect(() => h2.client.close()).not.to.throw();
    expect(reg2.status).to.equal("open");
    expect(h2.closes).to.deep.equal(["closed"]);
  });

  it("close(): a 5xx on /close is not retried (no timer after close)", async () => {
    const { mf, h } = await opened("none");
    mf.script("POST /rooms/:code/close", err("internal", 500));
    h.client.close();
    await h.timers.advance(0);
    expect(h.timers.pending).to.equal(0);
    expect(mf.callsTo("POST /rooms/:code/close").length).to.equal(1);
  });

  it("app callbacks that throw go to onError; a throwing onError is dropped", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const errors: unknown[] = [];
    const { RegistryClient } = await import("../../src/client/client.ts");
    const t = new MockTimers();
    const c = new RegistryClient(
      {
        baseUrl: mf.base,
        fetchImpl: mf.fetchImpl,
        nowMs: t.nowMs,
        setTimeoutImpl: t.setTimeoutImpl,
        clearTimeoutImpl: t.clearTimeoutImpl,
        randomBytes: (n) => new Uint8Array(n),
        createPeerConnection: () => {
          throw new Error("x");
        },
        rtcConfiguration: {},
        telemetry: () => {
          throw new Error("telemetry");
        },
      },
      {
        onStateChange: () => {
          throw new Error("app bug");
        },
        onError: (e) => {
          errors.push(e);
          throw new Error("again");
        },
      },
    );
    await c.createRoom({ hostUserName: "A" });
    expect(errors.length).to.be.greaterThan(0);
    expect((errors[0] as Error).message).to.equal("app bug");
    expect(c.getState().phase).to.equal("waiting_guest");
  });

  it("a WebRTC failure is an error without its message (which may quote SDP)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\nSECRET-SDP-LINE" };
    const h = harness({
      mf,
      rtc: { failRemote: new DOMException("Failed to parse: SECRET-SDP-LINE", "OperationError") },
    });
    const e = await swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    expect((e as E.RegistryError).code).to.equal("unknown");
    expect((e as Error).message).to.not.contain("SECRET");
    expect(h.client.getState().phase).to.equal("error");
    const h2 = harness({ mf });
    h2.client["fail" as never];
    (h2.client as unknown as { fail(e: unknown): void }).fail("a string");
    expect(h2.client.getState().lastError?.message).to.contain("string");
  });

  it("a remote candidate the browser refuses is reported, not fatal", async () => {
    const { reg, h, pc } = await guestDraining("none");
    pc.rejectCandidates.add(C(1));
    reg.addCandidate("host", C(1));
    reg.addCandidate("host", C(2));
    await h.timers.advance(1500);
    expect(h.errors.map((e) => (e as E.RegistryError).code)).to.deep.equal(["bad_candidate"]);
    expect(pc.added.map((c) => c?.candidate)).to.deep.equal([C(2)]);
    expect(h.client.getState().phase).to.equal("draining_ice");
    h.client.close();
    await h.timers.advance(0);
  });

  it("never logs anything (so no token, join code, SDP or candidate) across a full session", async () => {
    const spied: unknown[][] = [];
    const orig = {
      log: console.log,
      info: console.info,
      warn: console.warn,
      error: console.error,
      debug: console.debug,
    };
    for (const k of Object.keys(orig) as (keyof typeof orig)[]) console[k] = (...a: unknown[]) => spied.push(a);
    try {
      const mf = new MockFetch();
      const reg = new FakeRegistry(mf, "fast");
      const timers = new MockTimers();
      const host = harness({ mf, timers });
      const guest = harness({ mf, timers });
      const r = await host.client.createRoom({ hostUserName: "Alice" });
      const hd = swallow(host.client.connect({ role: "host", code: r.code, accessToken: r.ownerToken }));
      const j = await guest.client.joinRoom({ code: r.code, joinCode: r.joinCode, guestUserName: "Bob" });
      const gd = swallow(guest.client.connect({ role: "guest", code: r.code, accessToken: j.guestToken }));
      await timers.advance(0);
      host.rtc.pcs[0]!.emitCandidate(C(1));
      guest.rtc.pcs[0]!.emitCandidate(C(2));
      await timers.advance(0);
      linkPeers(host.rtc.pcs[0]!, guest.rtc.pcs[0]!);
      await hd;
      await gd;
      mf.script("POST /rooms/:code/watch", err("internal", 500));
      host.client.send("hi");
      host.client.close();
      await timers.advance(1000);
      expect(reg.status).to.equal("closed");
      const tele = JSON.stringify([host.telemetry, guest.telemetry]);
      for (const secret of [reg.ownerToken, reg.guestToken, reg.joinCode, r.code, C(1), C(2), "v=0"])
        expect(tele).to.not.contain(secret);
      expect(host.telemetry.map((e) => e.type)).to.include.members([
        "phase_change",
        "request",
        "response",
        "pc_state",
        "dc_open",
        "dc_close",
      ]);
    } finally {
      Object.assign(console, orig);
    }
    expect(spied).to.deep.equal([]);
  });

  it("gathering state and connection state are forwarded", async () => {
    const { h, pc } = await guestDraining("none");
    pc.setGatheringState("gathering");
    pc.setConnectionState("connecting");
    expect(h.named("onIceGatheringStateChange")).to.deep.equal([["gathering"]]);
    expect(h.named("onIceConnectionStateChange")).to.deep.equal([["connecting"]]);
    h.client.close();
  });

  it("tolerates odd snapshots: non-object, unknown status, missing fields and version", async () => {
    const { mf, reg, h, pc } = await hostWaiting("none");
    mf.script(
      "GET /rooms/:code",
      { status: 200, body: 5 },
      { status: 200, body: { status: "weird", offer: { sdp: 5 }, answer: "x" } },
    );
    await h.timers.advance(1000);
    expect(h.client.getRoomSnapshot()).to.deep.equal({
      status: "open",
      offer: null,
      answer: null,
      updatedAt: 0,
      expiresAt: 0,
    });
    await h.timers.advance(1000);
    expect(h.client.getRoomSnapshot()).to.deep.equal({
      status: "open",
      offer: null,
      answer: null,
      updatedAt: 0,
      expiresAt: 0,
    });
    expect(h.client.getState().phase).to.equal("polling_room");
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    await h.timers.advance(1000);
    expect(pc.remoteDescription?.type).to.equal("answer");
    h.client.close();
  });

  it("a room code that cannot be normalised is used as given (the server answers 404)", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    const h = harness({ mf });
    const e = await swallow(h.client.connect({ role: "host", code: "no-such!", accessToken: "t" }));
    expect(e).to.be.instanceOf(E.NotFoundError);
    expect(mf.calls[0]!.path).to.equal("/rooms/no-such!/offer");
  });

  it("close() while a candidate post is in flight aborts it quietly", async () => {
    const { mf, h, pc } = await hostWaiting("none");
    mf.on("POST /rooms/:code/candidate", () => new Promise(() => {}));
    pc.emitCandidate(C(1));
    await h.timers.advance(0);
    expect(mf.pendingCount).to.be.greaterThan(0);
    h.client.close(42 as unknown as string);
    await h.timers.advance(0);
    expect(h.errors).to.deep.equal([]);
    expect(mf.callsTo("POST /rooms/:code/close")[0]!.body).to.deep.equal({ reason: "42" });
    expectReleased(h, pc);
  });

  it("an empty drain response is tolerated", async () => {
    const { mf, h, pc } = await guestDraining("none");
    mf.script("GET /rooms/:code/candidates", { status: 200 });
    await h.timers.advance(1500);
    await h.timers.advance(1500);
    expect(h.client.getState().phase).to.equal("draining_ice");
    expect(pc.added).to.deep.equal([]);
    h.client.close();
  });

  it("disconnected: default grace is CLIENT_DEFAULTS.disconnectGraceMs", async () => {
    const { h, pc } = await guestDraining("none");
    pc.setConnectionState("disconnected");
    await h.timers.advance(CLIENT_DEFAULTS.disconnectGraceMs - 1);
    expect(h.closes).to.deep.equal([]);
    await h.timers.advance(1);
    expect(h.closes).to.deep.equal(["disconnected"]);
  });

  it("a late failure after close is ignored (one onClose)", async () => {
    const { h } = await guestDraining("none");
    h.client.close();
    (h.client as unknown as { fail(e: unknown): void }).fail(new E.InternalError());
    expect(h.closes).to.deep.equal(["closed"]);
    expect(h.client.getState().phase).to.equal("closed");
  });

  it("already_paired on a retried answer whose first post landed counts as success", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "none");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    // The first post is stored but its response is lost (503 after storing), the retry gets 409.
    mf.on("POST /rooms/:code/answer", (call) => {
      if (reg.answer) return err("already_paired", 409);
      reg.answer = { type: "answer", sdp: call.body.sdp };
      reg.status = "paired";
      return err("unavailable", 503);
    });
    const h = harness({ mf });
    void swallow(h.client.connect({ role: "guest", code: "ABC123", accessToken: reg.guestToken }));
    await h.timers.advance(1000);
    expect(mf.callsTo("POST /rooms/:code/answer").length).to.equal(2);
    expect(h.client.getState().phase).to.equal("draining_ice");
    expect(h.closes).to.deep.equal([]);
    h.client.close();
  });

  it("host: a drain that finished (complete) before the answer is not started again by the room polls", async () => {
    const { mf, reg, h } = await hostWaiting("end");
    reg.status = "joined";
    reg.addCandidate("guest", C(1));
    reg.markEnd("guest");
    await h.timers.advance(1000);
    await h.timers.advance(5000);
    expect(mf.callsTo("GET /rooms/:code").length).to.be.at.least(6);
    expect(mf.callsTo("GET /rooms/:code/candidates").length).to.equal(1);
    h.client.close();
  });
});

describe("RegistryClient: nothing starts after the session ended", () => {
  /** Holds the next setRemoteDescription of `pc` until the returned function is called. */
  function holdRemote(pc: MockPeerConnection): () => void {
    let release: (() => void) | undefined;
    const set = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d) =>
      new Promise<void>((resolve, reject) => {
        release = () => set(d).then(resolve, reject);
      });
    return () => release!();
  }

  /**
   * close() while a description is being applied (its /close lost: the room lives on, as after a
   * failure that leaves it for "Try again"), then the description lands: nothing is sent after.
   */
  async function closeThenRelease(
    mf: MockFetch,
    h: ReturnType<typeof harness>,
    release: () => void,
    done: Promise<unknown>,
    pc: Parameters<typeof expectReleased>[1],
  ): Promise<void> {
    mf.script("POST /rooms/:code/close", new TypeError("lost"));
    h.client.close();
    const sent = mf.calls.length;
    release();
    await h.timers.advance(10_000);
    expect(
      mf.calls.slice(sent).map((c) => `${c.method} ${c.route}`),
      "requests after close",
    ).to.deep.equal([]);
    expect(await done).to.be.instanceOf(E.ClosedError);
    expectReleased(h, pc);
  }

  it("guest (MVP): close() while the offer is applied; when it lands no drain starts (no request, no timer)", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    const h = harness({ mf });
    const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    const pc = h.rtc.pcs[0]!;
    const release = holdRemote(pc);
    await h.timers.advance(0);
    expect(pc.remoteDescription).to.equal(null);
    await closeThenRelease(mf, h, release, done, pc);
  });

  it("host (fast): close() while the answer is applied; when it lands no drain starts", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    const h = harness({ mf });
    const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    const release = holdRemote(pc);
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    reg.version++;
    reg.wake();
    await h.timers.advance(0);
    expect(pc.remoteDescription).to.equal(null);
    await closeThenRelease(mf, h, release, done, pc);
  });
});

describe("RegistryClient: close() from an app callback (re-entrant)", () => {
  it("close() in onStateChange at connect: no listener, connection or timer left; connect() rejects", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    let listening = 0;
    const network = {
      online: () => true,
      listen: () => {
        listening++;
        return () => {
          listening--;
        };
      },
    };
    let client!: Harness["client"];
    const h = harness({
      mf,
      options: { network },
      on: { onStateChange: (s) => s.phase === "posting_offer" && client.close() },
    });
    client = h.client;
    const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(5000);
    expect(listening, "network listeners").to.equal(0);
    expect(
      h.rtc.pcs.every((pc) => pc.closed && pc.totalListeners() === 0),
      "connections",
    ).to.equal(true);
    expect(h.timers.pending).to.equal(0);
    expect(await Promise.race([done, "pending"])).to.be.instanceOf(E.ClosedError);
    expect(h.closes).to.deep.equal(["closed"]);
  });

  it("close() in onStateChange at the answer (guest, fast): no offer watch, no connect bound after it", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "all");
    reg.status = "joined";
    reg.offer = { type: "offer", sdp: "v=0\r\noffer" };
    let client!: Harness["client"];
    const h = harness({ mf, on: { onStateChange: (s) => s.phase === "draining_ice" && client.close() } });
    client = h.client;
    const done = swallow(h.client.connect({ role: "guest", code: reg.code, accessToken: reg.guestToken }));
    await h.timers.advance(0);
    const closed = mf.calls.findIndex((c) => c.route === "/rooms/:code/close");
    expect(closed).to.be.greaterThan(0);
    await h.timers.advance(30_000);
    expect(h.client.getState().phase).to.equal("closed");
    expect(
      mf.calls.slice(closed + 1).map((c) => `${c.method} ${c.route}`),
      "requests after close",
    ).to.deep.equal([]);
    expect(h.timers.pending, "timers after close").to.equal(0);
    expect(mf.pendingCount, "requests in flight").to.equal(0);
    expect(await Promise.race([done, "pending"])).to.be.instanceOf(E.ClosedError);
  });

  it("close() in onStateChange when open: no heartbeat, stats or route timer starts after it", async () => {
    const mf = new MockFetch();
    const reg = new FakeRegistry(mf, "legacy");
    let client!: Harness["client"];
    const h = harness({ mf, on: { onStateChange: (s) => s.phase === "open" && client.close() } });
    client = h.client;
    const done = swallow(h.client.connect({ role: "host", code: reg.code, accessToken: reg.ownerToken }));
    await h.timers.advance(0);
    const pc = h.rtc.pcs[0]!;
    reg.answer = { type: "answer", sdp: "v=0\r\nanswer" };
    reg.status = "paired";
    reg.version++;
    await h.timers.advance(1000);
    expect(h.client.getState().phase).to.equal("draining_ice");
    openHost(pc);
    await h.timers.advance(5000);
    expect(h.client.getState().phase).to.equal("closed");
    expect(h.timers.pending, "timers after close").to.equal(0);
    expect(pc.totalListeners(), "listeners after close").to.equal(0);
    expect(h.named("onOpen"), "no onOpen after close").to.deep.equal([]);
    expect(await Promise.race([done, "pending"])).to.be.instanceOf(E.ClosedError);
  });
});

describe("RegistryClient: close() from onStateChange during a retry (re-entrant)", () => {
  it("createRoom: a 503 retried, close() when its error is noted: createRoom rejects, nothing left", async () => {
    const mf = new MockFetch();
    new FakeRegistry(mf, "legacy");
    mf.script("POST /rooms", err("unavailable", 503));
    let client!: Harness["client"];
    const h = harness({ mf, on: { onStateChange: (s) => s.lastError?.code === "unavailable" && client.close() } });
    client = h.client;
    const p = swallow(h.client.createRoom({ hostUserName: "Alice" }));
    await h.timers.advance(0);
    expect(h.client.getState().phase).to.equal("closed");
    // No backoff wait outlives close(), and the call ends with it.
    expect(h.timers.pending, "timers after close").to.equal(0);
    expect(await Promise.race([p, "pending"])).to.be.instanceOf(E.TransitionError);
    await h.timers.advance(10_000);
    expect(mf.callsTo("POST /rooms").length, "not sent again").to.equal(1);
    expectReleased(h);
  });
});

describe("RegistryClient: close() from an ICE or recovery callback (re-entrant)", () => {
  async function openGuestClosingOn(on: RegistryClientEvents) {
    const opened = await openGuest({ on });
    expect(opened.h.client.getState().phase).to.equal("open");
    return opened;
  }

  /** After `act`, the session ended and nothing it started outlives it. */
  async function expectNothingAfterClose(h: Harness, mf: MockFetch, pc: MockPeerConnection, act: () => void) {
    const sent = mf.calls.length;
    act();
    await h.timers.advance(60_000);
    expect(h.client.getState().phase).to.equal("closed");
    expect(
      mf.calls.slice(sent).map((c) => `${c.method} ${c.route}`),
      "requests after close",
    ).to.deep.equal(["POST /rooms/:code/close"]);
    expect(h.timers.pending, "timers after close").to.equal(0);
    expect(mf.pendingCount, "requests in flight").to.equal(0);
    expect(pc.totalListeners(), "listeners").to.equal(0);
    expect(h.closes).to.deep.equal(["closed"]);
  }

  it("close() in onIceConnectionStateChange('disconnected'): no recovery starts after it", async () => {
    let client!: Harness["client"];
    const { mf, h, pc } = await openGuestClosingOn({
      onIceConnectionStateChange: (s) => s === "disconnected" && client.close(),
    });
    client = h.client;
    await expectNothingAfterClose(h, mf, pc, () => pc.setConnectionState("disconnected"));
  });

  it("close() in onReconnecting: no recovery window or offer watch after it", async () => {
    let client!: Harness["client"];
    const { mf, h, pc } = await openGuestClosingOn({ onReconnecting: () => client.close() });
    client = h.client;
    await expectNothingAfterClose(h, mf, pc, () => pc.setConnectionState("failed"));
  });
});

describe("RegistryClient: the control channel is best effort", () => {
  it("a connection that refuses it (the app's negotiated channel took id 1001): open all the same, nothing thrown", async () => {
    // As a browser does for a negotiated id already in use (the app's channel is made first).
    const proto = MockPeerConnectionClass.prototype;
    const create = proto.createDataChannel;
    proto.createDataChannel = function (this: MockPeerConnection, label: string, init?: RTCDataChannelInit) {
      if (init?.negotiated && this.channels.some((c) => c.init.negotiated && c.init.id === init.id))
        throw new DOMException("id in use", "OperationError");
      return create.call(this, label, init);
    };
    let opened: Awaited<ReturnType<typeof guestDraining>>;
    try {
      opened = await guestDraining("legacy", { connect: { dataChannel: { negotiated: true, id: 1001 } } } as never);
    } finally {
      proto.createDataChannel = create;
    }
    const { h, pc, done } = opened;
    expect(
      pc.channels.map((c) => c.label),
      "the app's channel kept its id; no control channel",
    ).to.deep.equal(["data"]);
    const uncaught: unknown[] = [];
    const onError = (e: ErrorEvent) => {
      uncaught.push(e.error);
      e.preventDefault();
    };
    window.addEventListener("error", onError);
    try {
      pc.setConnectionState("connected");
      pc.channels[0]!.open();
      await h.timers.advance(0);
    } finally {
      window.removeEventListener("error", onError);
    }
    expect(uncaught, "thrown from the channel's open event").to.deep.equal([]);
    expect(await Promise.race([done, "pending"])).to.equal(undefined);
    expect(h.named("onOpen").length).to.equal(1);
    expect(h.client.getState().phase).to.equal("open");
    h.client.close();
    await h.timers.advance(0);
    expectReleased(h, pc);
  });
});
