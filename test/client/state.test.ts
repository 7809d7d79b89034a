import { expect } from "@open-wc/testing";
import { RateLimitedError, TransitionError, ClosedError } from "../../src/client/errors.ts";
import { TRANSITIONS, TERMINAL, canApply, initialState, reduce, type Action } from "../../src/client/state.ts";
import type { ClientPhase, ClientState } from "../../src/client/types.ts";

const PHASES: ClientPhase[] = [
  "idle",
  "creating_room",
  "waiting_guest",
  "joining_room",
  "posting_offer",
  "posting_answer",
  "polling_room",
  "draining_ice",
  "connecting_rtc",
  "open",
  "closing",
  "closed",
  "error",
];
const rl = new RateLimitedError(undefined, { retryAfterSec: 3 });
const ACTIONS: Action[] = [
  { type: "create" },
  { type: "created", code: "ABC123", token: "t" },
  { type: "join" },
  { type: "joined", code: "ABC123", token: "g" },
  { type: "request_failed", error: rl },
  { type: "connect", role: "host", code: "ABC123", token: "t" },
  { type: "offer_posted" },
  { type: "answered" },
  { type: "ice_connected" },
  { type: "dc_open" },
  { type: "restart" },
  { type: "reoffer" },
  { type: "rtc", rtc: { localCandidates: new Set(), remoteCandidates: new Set() } },
  { type: "error_noted", error: rl },
  { type: "closing" },
  { type: "closed" },
  { type: "failed", error: rl },
];

const at = (phase: ClientPhase): ClientState => ({ phase, lastTransitionAt: 0 });

describe("state reducer", () => {
  it("starts idle", () => {
    expect(initialState(5)).to.deep.equal({ phase: "idle", lastTransitionAt: 5 });
  });

  it("allows exactly the listed transitions and throws TransitionError for every other pair", () => {
    for (const phase of PHASES) {
      for (const a of ACTIONS) {
        const legal = TRANSITIONS[a.type].includes(phase);
        expect(canApply(at(phase), a.type)).to.equal(legal);
        if (legal) expect(() => reduce(at(phase), a, 1)).not.to.throw();
        else expect(() => reduce(at(phase), a, 1), `${a.type} from ${phase}`).to.throw(TransitionError);
      }
    }
  });

  it("terminal phases accept nothing", () => {
    for (const p of TERMINAL) for (const a of ACTIONS) expect(canApply(at(p), a.type)).to.equal(false);
  });

  it("host path", () => {
    let s = initialState(0);
    s = reduce(s, { type: "create" }, 1);
    expect(s).to.include({ phase: "creating_room", role: "host", lastTransitionAt: 1 });
    s = reduce(s, { type: "created", code: "ABC123", token: "tok" }, 2);
    expect(s).to.include({ phase: "waiting_guest", code: "ABC123", accessToken: "tok" });
    s = reduce(s, { type: "connect", role: "host", code: "ABC123", token: "tok" }, 3);
    expect(s.phase).to.equal("posting_offer");
    s = reduce(s, { type: "offer_posted" }, 4);
    expect(s.phase).to.equal("polling_room");
    s = reduce(s, { type: "answered" }, 5);
    expect(s.phase).to.equal("draining_ice");
    s = reduce(s, { type: "ice_connected" }, 6);
    expect(s.phase).to.equal("connecting_rtc");
    s = reduce(s, { type: "dc_open" }, 7);
    expect(s.phase).to.equal("open");
    s = reduce(s, { type: "restart" }, 8);
    expect(s.phase).to.equal("posting_offer");
    s = reduce(s, { type: "closing" }, 9);
    s = reduce(s, { type: "closed" }, 10);
    expect(s).to.include({ phase: "closed", lastTransitionAt: 10 });
    expect(s.lastError).to.equal(undefined);
  });

  it("guest path", () => {
    let s = reduce(initialState(0), { type: "join" }, 1);
    expect(s).to.include({ phase: "joining_room", role: "guest" });
    s = reduce(s, { type: "joined", code: "ABC123", token: "g" }, 2);
    expect(s).to.include({ phase: "idle", code: "ABC123", accessToken: "g" });
    s = reduce(s, { type: "connect", role: "guest", code: "ABC123", token: "g" }, 3);
    expect(s.phase).to.equal("posting_answer");
    s = reduce(s, { type: "answered" }, 4);
    s = reduce(s, { type: "dc_open" }, 5);
    expect(s.phase).to.equal("open");
    s = reduce(s, { type: "reoffer" }, 6);
    expect(s.phase).to.equal("posting_answer");
  });

  it("errors: request_failed returns to idle, error_noted keeps the phase and the time, failed/closed remember it", () => {
    let s = reduce(at("creating_room"), { type: "request_failed", error: rl }, 1);
    expect(s.phase).to.equal("idle");
    expect(s.lastError).to.deep.equal({ code: "rate_limited", message: rl.message, retryable: true, retryAfterSec: 3 });
    s = reduce(at("polling_room"), { type: "error_noted", error: new ClosedError() }, 9);
    expect(s).to.include({ phase: "polling_room", lastTransitionAt: 0 });
    expect(s.lastError).to.deep.equal({ code: "closed", message: new ClosedError().message, retryable: false });
    expect(reduce(at("open"), { type: "failed", error: rl }, 1)).to.include({ phase: "error" });
    const c = reduce(at("open"), { type: "closed", error: new ClosedError() }, 1);
    expect(c.lastError?.code).to.equal("closed");
  });

  it("rtc keeps phase and time; states are new objects", () => {
    const s0 = at("draining_ice");
    const rtc = { localCandidates: new Set<string>(), remoteCandidates: new Set<string>() };
    const s1 = reduce(s0, { type: "rtc", rtc }, 5);
    expect(s1).not.to.equal(s0);
    expect(s1.rtc).to.equal(rtc);
    expect(s1.lastTransitionAt).to.equal(0);
  });
});
