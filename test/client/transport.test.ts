import { expect } from "@open-wc/testing";
import { BACKOFF, backoffDelay, jitter, randomFromBytes, rateLimitDelay } from "../../src/client/backoff.ts";
import * as E from "../../src/client/errors.ts";
import { TimerScope, isAbortError } from "../../src/client/timers.ts";
import { Transport, type TransportOptions } from "../../src/client/transport.ts";
import { ERROR_CODES, ERROR_STATUS, errorEnvelope } from "../../src/protocol/index.ts";
import { MockFetch, MockTimers, constantBytes, err, sleeps } from "./fixtures/index.ts";

function setup(random = 0.5, extra: Partial<TransportOptions> = {}) {
  const mf = new MockFetch();
  const timers = new MockTimers();
  const errors: unknown[] = [];
  const scope = new TimerScope(timers.setTimeoutImpl, timers.clearTimeoutImpl, (e) => errors.push(e));
  const retries: E.RegistryError[] = [];
  const tele: unknown[] = [];
  const t = new Transport({
    baseUrl: mf.base,
    fetchImpl: mf.fetchImpl,
    nowMs: timers.nowMs,
    random: () => random,
    timers: scope,
    csrfHeaderName: "X-Registry-Version",
    csrfHeaderValue: "1",
    telemetry: (e) => tele.push(e),
    onRetry: (e) => retries.push(e),
    ...extra,
  });
  const ctl = new AbortController();
  return { mf, timers, t, scope, ctl, retries, tele, errors };
}

describe("backoff", () => {
  it("stays within base 250–500 ms × 1.6–2.0 per attempt and caps at 10 s", () => {
    expect(backoffDelay(0, () => 0)).to.equal(250);
    expect(backoffDelay(0, () => 0.999999)).to.equal(500);
    expect(backoffDelay(1, () => 0)).to.equal(400);
    expect(backoffDelay(1, () => 0.999999)).to.equal(1000);
    expect(backoffDelay(30, () => 0.5)).to.equal(BACKOFF.capMs);
    for (let a = 0; a < 12; a++)
      for (const r of [0, 0.3, 0.99]) {
        const d = backoffDelay(a, () => r);
        expect(d).to.be.within(250, 10_000);
        if (a > 0) expect(d).to.be.at.least(backoffDelay(a - 1, () => r));
      }
  });
  it("429: honours retryAfterSec plus < 250 ms jitter, else backoff", () => {
    expect(rateLimitDelay(0, 3, () => 0)).to.equal(3000);
    expect(rateLimitDelay(0, 3, () => 0.5)).to.equal(3125);
    expect(rateLimitDelay(2, undefined, () => 0)).to.equal(backoffDelay(2, () => 0));
  });
  it("jitter and random from bytes", () => {
    expect(jitter(1000, 1500, () => 0.5)).to.equal(1250);
    expect(randomFromBytes(constantBytes(0))()).to.equal(0);
    const hi = randomFromBytes(constantBytes(255))();
    expect(hi).to.be.below(1).and.above(0.999);
  });
});

describe("errors", () => {
  it("maps every server code to its typed class, with retryable and retryAfterSec", () => {
    for (const code of ERROR_CODES) {
      const e = E.errorFromResponse(ERROR_STATUS[code], errorEnvelope(code, { retryAfterSec: 4 }), null);
      expect(e).to.be.instanceOf(E.RegistryError);
      expect(e.code).to.equal(code);
      expect(e.status).to.equal(ERROR_STATUS[code]);
      expect(e.retryAfterSec).to.equal(4);
      expect(e.retryable).to.equal(["rate_limited", "internal", "unavailable", "no_offer"].includes(code));
      expect(e.name).to.not.equal("Error");
    }
    expect(E.errorFromResponse(429, errorEnvelope("rate_limited"), null)).to.be.instanceOf(E.RateLimitedError);
    expect(E.errorFromResponse(410, errorEnvelope("closed"), null)).to.be.instanceOf(E.ClosedError);
    expect(E.errorFromResponse(409, errorEnvelope("too_many_candidates"), null)).to.be.instanceOf(
      E.TooManyCandidatesError,
    );
  });
  it("falls back on Retry-After and on the status for unknown codes or bodies", () => {
    const a = E.errorFromResponse(429, null, "7");
    expect(a).to.be.instanceOf(E.RateLimitedError);
    expect(a.retryAfterSec).to.equal(7);
    expect(E.errorFromResponse(429, null, "soon").retryAfterSec).to.equal(undefined);
    expect(E.errorFromResponse(429, errorEnvelope("rate_limited", { retryAfterSec: 2 }), "9").retryAfterSec).to.equal(
      2,
    );
    const b = E.errorFromResponse(502, { error: { code: "brand_new", message: "x" } }, null);
    expect(b).to.include({ code: "unknown", retryable: true, status: 502 });
    expect(E.errorFromResponse(418, "teapot", null)).to.include({ code: "unknown", retryable: false });
  });
  it("local errors carry their codes", () => {
    expect(new E.TransitionError("x")).to.include({ code: "transition", retryable: false, name: "TransitionError" });
    expect(new E.SdpTooLargeError("x").code).to.equal("sdp_too_large");
    expect(new E.CandidateTooLargeError("x").code).to.equal("candidate_too_large");
    expect(new E.NetworkError()).to.include({ code: "network", retryable: true });
    expect(new E.TimeoutError("x").code).to.equal("timeout");
    expect(new E.TooManyCandidatesError().local).to.equal(false);
  });
});

describe("timers scope", () => {
  it("tracks, cancels, clears and never throws into the host timer", async () => {
    const { timers, scope, errors } = setup();
    const ran: number[] = [];
    const a = scope.set(() => ran.push(1), 10);
    scope.set(() => {
      throw new Error("boom");
    }, 20);
    scope.cancel(a);
    scope.cancel(a);
    scope.cancel(undefined);
    expect(scope.size).to.equal(1);
    await timers.advance(30);
    expect(ran).to.deep.equal([]);
    expect((errors[0] as Error).message).to.equal("boom");
    scope.set(() => ran.push(2), 5);
    scope.clear();
    expect(timers.pending).to.equal(0);
    expect(scope.size).to.equal(0);
  });
  it("ignores a host timer firing after cancel", () => {
    let fire: (() => void) | undefined;
    const scope = new TimerScope(
      (fn) => {
        fire = fn;
        return 1;
      },
      () => {},
      () => {},
    );
    let ran = false;
    const id = scope.set(() => {
      ran = true;
    }, 5);
    scope.cancel(id);
    fire!();
    expect(ran).to.equal(false);
  });
  it("sleep resolves, or rejects with AbortError on abort (before or during)", async () => {
    const { timers, scope } = setup();
    const ctl = new AbortController();
    let done = false;
    void scope.sleep(100, ctl.signal).then(() => (done = true));
    await timers.advance(100);
    expect(done).to.equal(true);
    const p = scope.sleep(100, ctl.signal);
    ctl.abort();
    const e = await p.catch((x) => x);
    expect(isAbortError(e)).to.equal(true);
    expect(timers.pending).to.equal(0);
    expect(isAbortError(await scope.sleep(1, ctl.signal).catch((x) => x))).to.equal(true);
    expect(isAbortError(new Error("x"))).to.equal(false);
  });
});

describe("transport", () => {
  it("sends JSON with the token and, on POST only, X-Registry-Version; reads features", async () => {
    const { mf, t, ctl } = setup();
    mf.on("POST /rooms/:code/offer", () => ({ status: 204 }));
    mf.on("GET /rooms/:code", () => ({ status: 200, body: { status: "open" } }));
    expect(t.featuresKnown).to.equal(false);
    await t.request({
      method: "POST",
      path: "/rooms/ABC123/offer",
      route: "/rooms/:code/offer",
      token: "tok",
      body: { a: 1 },
      signal: ctl.signal,
    });
    const get = await t.request({
      method: "GET",
      path: "/rooms/ABC123",
      route: "/rooms/:code",
      token: "tok",
      signal: ctl.signal,
    });
    expect(get.body).to.deep.equal({ status: "open" });
    const [p, g] = mf.calls;
    expect(p!.headers).to.deep.include({
      "x-access-token": "tok",
      "x-registry-version": "1",
      "content-type": "application/json",
    });
    expect(p!.body).to.deep.equal({ a: 1 });
    expect(g!.headers).to.deep.equal({ "x-access-token": "tok" });
    expect(t.featuresKnown).to.equal(true);
    expect(t.has("delta") && t.has("longpoll") && t.has("batch") && t.has("end") && t.has("restart")).to.equal(true);
    mf.features = "longpoll, future-thing";
    await t.request({ method: "POST", path: "/rooms/ABC123/offer", route: "/rooms/:code/offer", signal: ctl.signal });
    expect([...t.features]).to.deep.equal(["longpoll"]);
    expect(mf.calls[2]!.body).to.deep.equal({});
    expect(mf.calls[2]!.headers["x-access-token"]).to.equal(undefined);
  });

  it("429 with retryAfterSec: waits that long (+ jitter), then succeeds; lastError surfaced via onRetry", async () => {
    const { mf, t, ctl, timers, retries, tele } = setup(0);
    mf.script("POST /rooms", err("rate_limited", 429, { retryAfterSec: 2 }));
    mf.on("POST /rooms", () => ({ status: 201, body: { code: "ABC123" } }));
    const p = t.request({ method: "POST", path: "/rooms", route: "/rooms", body: {}, signal: ctl.signal });
    await timers.advance(1999);
    expect(mf.calls.length).to.equal(1);
    await timers.advance(1);
    expect((await p).status).to.equal(201);
    expect(retries[0]).to.be.instanceOf(E.RateLimitedError);
    expect(retries[0]!.retryAfterSec).to.equal(2);
    expect(tele).to.deep.include({
      type: "retry",
      method: "POST",
      route: "/rooms",
      attempt: 1,
      delayMs: 2000,
      status: 429,
    });
  });

  it("429 without retryAfterSec: capped, jittered exponential backoff, then RateLimitedError", async () => {
    const { mf, t, ctl, timers } = setup(0.999);
    for (let i = 0; i < 5; i++) mf.script("GET /rooms/:code", err("rate_limited", 429));
    mf.on("GET /rooms/:code", () => ({ status: 200, body: {} }));
    const p = t
      .request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal })
      .catch((e) => e);
    for (let i = 0; i < 10; i++) await timers.next();
    const e = await p;
    expect(e).to.be.instanceOf(E.RateLimitedError);
    expect(mf.calls.length).to.equal(5); // 1 + maxRetries 4
    const d = sleeps(timers.delays);
    expect(d.length).to.equal(4);
    for (let i = 1; i < d.length; i++) expect(d[i]!).to.be.greaterThan(d[i - 1]!);
    for (const x of d) expect(x).to.be.within(250, 10_000);
  });

  it("429 asking for longer than the cap is thrown at once with retryAfterSec (the caller shows it)", async () => {
    const { mf, t, ctl, timers } = setup();
    mf.script("POST /rooms/:code/join", err("rate_limited", 429, { retryAfterSec: 60 }));
    const e = await t
      .request({ method: "POST", path: "/rooms/ABC123/join", route: "/rooms/:code/join", body: {}, signal: ctl.signal })
      .catch((x) => x);
    expect(e).to.be.instanceOf(E.RateLimitedError);
    expect(e.retryAfterSec).to.equal(60);
    expect(timers.pending).to.equal(0);
  });

  it("5xx then recovery", async () => {
    const { mf, t, ctl, timers } = setup();
    mf.script("GET /rooms/:code", err("unavailable", 503), err("internal", 500), { status: 502, body: "<html>" });
    mf.on("GET /rooms/:code", () => ({ status: 200, body: { ok: 1 } }));
    const p = t.request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal });
    for (let i = 0; i < 3; i++) await timers.next();
    expect((await p).body).to.deep.equal({ ok: 1 });
    expect(mf.calls.length).to.equal(4);
  });

  it("4xx is not retried; maxRetries 0 means one attempt", async () => {
    const { mf, t, ctl } = setup();
    mf.script("POST /rooms/:code/offer", err("forbidden", 403));
    const e = await t
      .request({ method: "POST", path: "/rooms/ABC123/offer", route: "/rooms/:code/offer", signal: ctl.signal })
      .catch((x) => x);
    expect(e).to.be.instanceOf(E.ForbiddenError);
    mf.script("POST /rooms/:code/close", err("internal", 500));
    const e2 = await t
      .request({
        method: "POST",
        path: "/rooms/ABC123/close",
        route: "/rooms/:code/close",
        signal: ctl.signal,
        maxRetries: 0,
      })
      .catch((x) => x);
    expect(e2).to.be.instanceOf(E.InternalError);
    expect(mf.calls.length).to.equal(2);
  });

  it("network failures: retried only when idempotent", async () => {
    const { mf, t, ctl, timers } = setup();
    mf.script("GET /rooms/:code", new TypeError("Failed to fetch"));
    mf.on("GET /rooms/:code", () => ({ status: 200, body: {} }));
    const p = t.request({
      method: "GET",
      path: "/rooms/ABC123",
      route: "/rooms/:code",
      signal: ctl.signal,
      idempotent: true,
    });
    await timers.next();
    expect((await p).status).to.equal(200);
    mf.script("POST /rooms", new TypeError("Failed to fetch"));
    const e = await t.request({ method: "POST", path: "/rooms", route: "/rooms", signal: ctl.signal }).catch((x) => x);
    expect(e).to.be.instanceOf(E.NetworkError);
    // the body failing mid-stream is a network failure too
    const broken = new Response("{}", { status: 200 });
    broken.text = () => Promise.reject(new TypeError("network error"));
    const t2 = new Transport({ ...(t as unknown as { o: TransportOptions }).o, fetchImpl: async () => broken });
    expect(
      await t2.request({ method: "POST", path: "/rooms", route: "/rooms", signal: ctl.signal }).catch((x) => x),
    ).to.be.instanceOf(E.NetworkError);
  });

  it("abort: rejects with AbortError, before or during a request or a backoff", async () => {
    const { mf, t, ctl, timers } = setup();
    mf.on("GET /rooms/:code", () => new Promise(() => {}));
    const p = t
      .request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal })
      .catch((x) => x);
    await timers.advance(0);
    ctl.abort();
    expect(isAbortError(await p)).to.equal(true);
    const again = await t
      .request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal })
      .catch((x) => x);
    expect(isAbortError(again)).to.equal(true);
    const s2 = setup();
    s2.mf.script("GET /rooms/:code", err("internal", 500));
    const p2 = s2.t
      .request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: s2.ctl.signal })
      .catch((x) => x);
    await s2.timers.advance(0);
    expect(s2.timers.pending).to.equal(1);
    s2.ctl.abort();
    expect(isAbortError(await p2)).to.equal(true);
    expect(s2.timers.pending).to.equal(0);
  });

  it("a fetch rejecting with a non-abort error after abort is still an abort", async () => {
    const ctl = new AbortController();
    const timers = new MockTimers();
    const t = new Transport({
      baseUrl: "https://x",
      fetchImpl: () => {
        ctl.abort();
        return Promise.reject(new TypeError("x"));
      },
      nowMs: () => 0,
      random: () => 0,
      timers: new TimerScope(timers.setTimeoutImpl, timers.clearTimeoutImpl, () => {}),
      csrfHeaderName: "X-Registry-Version",
      csrfHeaderValue: "1",
      telemetry: () => {},
      onRetry: () => {},
    });
    const e = await t
      .request({ method: "GET", path: "/", route: "/", signal: ctl.signal, idempotent: true })
      .catch((x) => x);
    expect(e).to.be.instanceOf(TypeError);
  });

  it("2xx with a non-JSON body is an error; empty 200 is null; unknown throws pass through", async () => {
    const { mf, t, ctl } = setup();
    mf.script("GET /rooms/:code", { status: 200, body: "not json" }, { status: 200 });
    const e = await t
      .request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal })
      .catch((x) => x);
    expect(e).to.be.instanceOf(E.RegistryError);
    expect(e.code).to.equal("unknown");
    expect(
      (await t.request({ method: "GET", path: "/rooms/ABC123", route: "/rooms/:code", signal: ctl.signal })).body,
    ).to.equal(null);
  });

  it("telemetry carries route patterns, sizes and latencies, never the code or token", async () => {
    const { mf, t, ctl, tele } = setup();
    mf.on("POST /rooms/:code/candidate", () => ({ status: 204 }));
    await t.request({
      method: "POST",
      path: "/rooms/ABC123/candidate",
      route: "/rooms/:code/candidate",
      token: "SECRETTOKEN",
      body: { candidate: "candidate:xyz" },
      signal: ctl.signal,
    });
    const s = JSON.stringify(tele);
    expect(s).to.not.contain("ABC123");
    expect(s).to.not.contain("SECRETTOKEN");
    expect(s).to.not.contain("candidate:xyz");
    expect(tele).to.deep.include({
      type: "response",
      method: "POST",
      route: "/rooms/:code/candidate",
      status: 204,
      bytes: 0,
      latencyMs: 0,
    });
  });
});
