/**
 * NAT lab figures (issue #10, report only): time to open between two players on two home
 * networks (test/netlab/lab.ts), direct through ordinary NATs with STUN (srflx) and relayed
 * through symmetric NATs with TURN. Needs root and `ip netns`; otherwise reported as skipped.
 */
import { events } from "../test/e2e/helpers.ts";
import type { Lab } from "../test/netlab/lab.ts";
import { route } from "../test/netlab/page.ts";
import { openLab, startPair, waitOpen } from "../test/netlab/scenario.ts";
import { labUnavailable } from "../test/netlab/sys.ts";
import { NO_LIMITS } from "./lib/limits.ts";
import { roundSummary, summarize, type Figure } from "./lib/stats.ts";

export async function netlabFigures(o: {
  runs: number;
  log: (m: string) => void;
}): Promise<{ figures: Figure[]; note: string }> {
  const why = await labUnavailable(o.log);
  if (why) {
    o.log(`  NAT lab skipped: ${why}`);
    return { figures: [], note: `NAT lab figures (10a, 10b) not measured: ${why}.` };
  }
  const lab: Lab = await openLab({
    profiles: { lab: (a) => ({ ...NO_LIMITS, STUN_URLS: a.stunUrl, TURN_URLS: a.turnUrl, TURN_SECRET: a.turnSecret }) },
    log: o.log,
  });
  try {
    const measure = async (kind: "srflx" | "relay"): Promise<number[]> => {
      lab.setNat(kind === "srflx" ? "eim" : "symmetric");
      const out: number[] = [];
      for (let run = 0; run < o.runs; run++) {
        const t = lab.mintTurn(600);
        const ice =
          kind === "srflx"
            ? [{ urls: lab.stunUrl }]
            : [{ urls: lab.stunUrl }, { urls: lab.turnUrl, username: t.username, credential: t.credential }];
        const pair = await startPair(lab, "lab", { attrs: { "ice-servers": JSON.stringify(ice) } });
        const open = await waitOpen(pair, 30_000);
        const joining = (await events(pair.guest, "phase-change")).find(
          (e) => (e.detail as { phase: string }).phase === "joining_room",
        );
        const r = await route(pair.host);
        if (!joining || !r || r.relayed !== (kind === "relay"))
          throw new Error(`NAT lab ${kind} run: unexpected route ${JSON.stringify(r)}`);
        out.push(Math.max(open.host.at, open.guest.at) - joining.at);
        o.log(`  NAT lab ${kind} run ${run + 1}/${o.runs}: ${out.at(-1)} ms (${r.local} ↔ ${r.remote})`);
        await lab.resetPlayers();
      }
      return out;
    };
    const srflx = await measure("srflx");
    const relay = await measure("relay");
    const note =
      "From the guest's join request (phase joining_room) to the later peer-open, two Chromium processes in two network namespaces behind iptables NATs, coturn on the simulated internet.";
    return {
      figures: [
        {
          id: "10a",
          name: "NAT lab: time to open via srflx (ordinary NATs, STUN)",
          unit: "ms",
          ...roundSummary(summarize(srflx), 0),
          target: "–",
          met: null,
          note,
        },
        {
          id: "10b",
          name: "NAT lab: time to open via relay (symmetric NATs, TURN)",
          unit: "ms",
          ...roundSummary(summarize(relay), 0),
          target: "–",
          met: null,
          note,
        },
      ],
      note: "",
    };
  } finally {
    await lab.close();
  }
}
