import { expect } from "@open-wc/testing";
import { CandidateTooLargeError, TooManyCandidatesError } from "../../src/client/errors.ts";
import { LocalCandidates, RemoteCandidates, toBody } from "../../src/client/ice.ts";

const C = (n: number) => ({
  candidate: `candidate:${n} 1 udp 1 10.0.0.${n % 250} ${1000 + n} typ host`,
  sdpMid: "0",
  sdpMLineIndex: 0,
});

describe("ice: local candidates", () => {
  it("dedupes by (candidate, sdpMid ?? '', sdpMLineIndex ?? -1)", () => {
    const l = new LocalCandidates(40);
    expect(l.admit(C(1)).ok).to.equal(true);
    expect(l.admit(C(1))).to.deep.equal({ ok: false });
    expect(l.admit({ ...C(1), sdpMid: "1" }).ok).to.equal(true);
    expect(l.admit({ candidate: C(1).candidate }).ok).to.equal(true);
    expect(l.admit({ candidate: C(1).candidate, sdpMid: null, sdpMLineIndex: null })).to.deep.equal({ ok: false });
  });
  it("rejects oversize with CandidateTooLargeError and skips invalid ones silently", () => {
    const l = new LocalCandidates(40);
    const v = l.admit({ candidate: `candidate:${"x".repeat(1100)}` });
    expect(v.ok).to.equal(false);
    expect((v as { error: Error }).error).to.be.instanceOf(CandidateTooLargeError);
    expect(l.admit({ candidate: "" })).to.deep.equal({ ok: false });
    expect(l.admit({ candidate: "nope" })).to.deep.equal({ ok: false });
    expect(l.keys.size).to.equal(0);
  });
  it("publishes libdatachannel's a=candidate: lines without the prefix (one key with the plain form)", () => {
    const l = new LocalCandidates(40);
    const v = l.admit({ ...C(1), candidate: `a=${C(1).candidate}` });
    expect(v).to.deep.equal({ ok: true, body: C(1) });
    expect(l.admit(C(1))).to.deep.equal({ ok: false });
    expect(l.admit({ candidate: "a=nope" })).to.deep.equal({ ok: false });
  });
  it("caps at max: one TooManyCandidatesError (local), later ones dropped; reset starts over", () => {
    const l = new LocalCandidates(40);
    for (let i = 0; i < 40; i++) expect(l.admit(C(i)).ok).to.equal(true);
    const v = l.admit(C(40)) as { ok: false; error: TooManyCandidatesError };
    expect(v.error).to.be.instanceOf(TooManyCandidatesError);
    expect(v.error.local).to.equal(true);
    expect(l.admit(C(41))).to.deep.equal({ ok: false });
    l.reset();
    expect(l.admit(C(41)).ok).to.equal(true);
    for (let i = 0; i < 39; i++) l.admit(C(100 + i));
    expect((l.admit(C(200)) as { error?: Error }).error).to.be.instanceOf(TooManyCandidatesError);
  });
});

describe("ice: remote candidates", () => {
  it("set-difference over repeated full sets, ignoring invalid items and non-arrays", () => {
    const r = new RemoteCandidates();
    expect(r.diff([C(1), C(2)])).to.deep.equal([C(1), C(2)]);
    expect(r.diff([C(1), C(2), C(3), { candidate: 5 }, null, { candidate: "x" }])).to.deep.equal([C(3)]);
    expect(r.diff(undefined)).to.deep.equal([]);
    expect(r.diff({ items: [] })).to.deep.equal([]);
    expect(r.diff([{ candidate: C(9).candidate, extra: "ignored" }])).to.deep.equal([
      { candidate: C(9).candidate, sdpMid: null, sdpMLineIndex: null },
    ]);
    expect(r.keys.size).to.equal(4);
  });
  it("queues until the remote description is set, then releases in order", () => {
    const r = new RemoteCandidates();
    expect(r.take([C(1)])).to.deep.equal([]);
    expect(r.take([C(2)])).to.deep.equal([]);
    expect(r.markReady()).to.deep.equal([C(1), C(2)]);
    expect(r.take([C(3)])).to.deep.equal([C(3)]);
    expect(r.markReady()).to.deep.equal([]);
    r.reset();
    expect(r.take([C(4)])).to.deep.equal([]);
    expect(r.diff([C(1)]).length).to.equal(1);
  });
  it("toBody keeps only the three wire fields", () => {
    expect(toBody({ candidate: "candidate:1", sdpMid: undefined } as never)).to.deep.equal({
      candidate: "candidate:1",
      sdpMid: null,
      sdpMLineIndex: null,
    });
  });
});
