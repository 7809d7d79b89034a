import { expect } from "@open-wc/testing";
import { routeFromStats } from "../../src/client/route.ts";

type S = Record<string, unknown>;
const report = (stats: S[]) => new Map(stats.map((s) => [s.id as string, s]));
const cand = (id: string, kind: "local" | "remote", candidateType: string, protocol = "udp"): S => ({
  id,
  type: `${kind}-candidate`,
  candidateType,
  protocol,
});
const pair = (id: string, l: string, r: string, extra: S = {}): S => ({
  id,
  type: "candidate-pair",
  localCandidateId: l,
  remoteCandidateId: r,
  ...extra,
});

describe("route: the selected candidate pair from getStats()", () => {
  it("follows the transport's selectedCandidatePairId (Chromium)", () => {
    const r = report([
      cand("L1", "local", "host"),
      cand("L2", "local", "relay", "udp"),
      cand("R1", "remote", "prflx"),
      pair("P1", "L1", "R1", { nominated: true, state: "succeeded" }),
      pair("P2", "L2", "R1", { state: "succeeded" }),
      { id: "T", type: "transport", selectedCandidatePairId: "P2" },
    ]);
    expect(routeFromStats(r)).to.deep.equal({
      localType: "relay",
      remoteType: "prflx",
      protocol: "udp",
      relayed: true,
    });
  });

  it("else the pair flagged selected (Firefox), else a nominated succeeded pair", () => {
    const base = [cand("L", "local", "srflx", "tcp"), cand("R", "remote", "host"), cand("R2", "remote", "relay")];
    expect(
      routeFromStats(
        report([
          ...base,
          pair("P", "L", "R", { selected: true }),
          pair("Q", "L", "R2", { nominated: true, state: "succeeded" }),
        ]),
      ),
    ).to.deep.equal({
      localType: "srflx",
      remoteType: "host",
      protocol: "tcp",
      relayed: false,
    });
    expect(
      routeFromStats(
        report([
          ...base,
          pair("P", "L", "R", { nominated: true, state: "in-progress" }),
          pair("Q", "L", "R2", { nominated: true, state: "succeeded" }),
        ]),
      ),
    ).to.deep.equal({
      localType: "srflx",
      remoteType: "relay",
      protocol: "tcp",
      relayed: true,
    });
    // A transport naming a pair that is not in the report falls back the same way.
    expect(
      routeFromStats(
        report([
          ...base,
          { id: "T", type: "transport", selectedCandidatePairId: "gone" },
          pair("Q", "L", "R", { selected: true }),
        ]),
      )?.remoteType,
    ).to.equal("host");
  });

  it("null while no pair is selected, or when the report lacks or garbles a candidate", () => {
    expect(routeFromStats(report([]))).to.equal(null);
    expect(
      routeFromStats(
        report([
          cand("L", "local", "host"),
          cand("R", "remote", "host"),
          pair("P", "L", "R", { nominated: false, state: "succeeded" }),
        ]),
      ),
    ).to.equal(null);
    expect(routeFromStats(report([cand("R", "remote", "host"), pair("P", "L", "R", { selected: true })]))).to.equal(
      null,
    );
    expect(routeFromStats(report([cand("L", "local", "host"), pair("P", "L", "R", { selected: true })]))).to.equal(
      null,
    );
    expect(
      routeFromStats(
        report([cand("L", "local", "weird"), cand("R", "remote", "host"), pair("P", "L", "R", { selected: true })]),
      ),
    ).to.equal(null);
    expect(
      routeFromStats(
        report([cand("L", "local", "host"), cand("R", "remote", "weird"), pair("P", "L", "R", { selected: true })]),
      ),
    ).to.equal(null);
  });

  it("protocol defaults to udp when the browser leaves it out", () => {
    const l = { id: "L", type: "local-candidate", candidateType: "host" };
    expect(
      routeFromStats(report([l, cand("R", "remote", "host"), pair("P", "L", "R", { selected: true })]))?.protocol,
    ).to.equal("udp");
  });
});
