/**
 * Recovery figures (issue #14), in the NAT lab: the time from a player's link coming back after a
 * 13 s cut to data flowing again both ways (numbered reliable packets, paced through the cut), and
 * the time until the other player notices a killed renderer (`reconnecting`; target <= 5 s).
 * Needs root and `ip netns`; otherwise reported as skipped. Run alone: `npm run bench -- --only=recovery`.
 */
import { waitForEvent, waitForPackets } from "../test/e2e/helpers.ts";
import type { Lab } from "../test/netlab/lab.ts";
import { checkPackets, pacedDone, startPaced } from "../test/netlab/page.ts";
import { openLab, startPair, waitOpen } from "../test/netlab/scenario.ts";
import { labUnavailable } from "../test/netlab/sys.ts";
import { NO_LIMITS } from "./lib/limits.ts";
import { roundSummary, summarize, type Figure } from "./lib/stats.ts";

const CUT_SEC = 13;
const NOTICE_TARGET_MS = 5000;

export async function recoveryFigures(o: {
  runs: number;
  log: (m: string) => void;
}): Promise<{ figures: Figure[]; note: string }> {
  const why = await labUnavailable(o.log);
  if (why) {
    o.log(`  NAT lab skipped: ${why}`);
    return { figures: [], note: `Recovery figures (11a, 11b) not measured: ${why}.` };
  }
  const lab: Lab = await openLab({ profiles: { lab: (a) => ({ ...NO_LIMITS, STUN_URLS: a.stunUrl }) }, log: o.log });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    lab.setNat("eim");
    const open = async () => {
      const pair = await startPair(lab, "lab", { attrs: { "ice-servers": JSON.stringify([{ urls: lab.stunUrl }]) } });
      await waitOpen(pair, 30_000);
      return pair;
    };
    const flowing: number[] = [];
    const noticed: number[] = [];
    for (let run = 0; run < o.runs; run++) {
      const pair = await open();
      const interval = CUT_SEC + 3;
      await Promise.all([startPaced(pair.host, 1000, "b:", interval), startPaced(pair.guest, 1000, "b:", interval)]);
      await sleep(1500);
      const cut = lab.cut(0);
      await sleep(CUT_SEC * 1000);
      lab.restore(cut);
      await Promise.all([pacedDone(pair.host, 90_000), pacedDone(pair.guest, 90_000)]);
      await Promise.all([
        waitForPackets(pair.host, "b:", 1000, 30_000),
        waitForPackets(pair.guest, "b:", 1000, 30_000),
      ]);
      const ends = await Promise.all([checkPackets(pair.host, "b:", 1000), checkPackets(pair.guest, "b:", 1000)]);
      if (ends.some((c) => c.missing || c.duplicates || c.outOfOrder))
        throw new Error(`recovery run: packets ${JSON.stringify(ends)}`);
      flowing.push(Math.max(...ends.map((c) => c.gapEndAt)) - cut.restoredAt!);
      o.log(`  recovery run ${run + 1}/${o.runs}: data flowing ${flowing.at(-1)} ms after the link came back`);
      const crashAt = Date.now();
      await lab.crashRenderer(pair.guest);
      const ev = await waitForEvent(pair.host, "reconnecting", 15_000, crashAt);
      noticed.push(ev.at - crashAt);
      o.log(`  recovery run ${run + 1}/${o.runs}: killed renderer noticed after ${noticed.at(-1)} ms`);
      await lab.resetPlayers();
    }
    const note =
      "Two Chromium processes in two network namespaces behind iptables NATs (STUN); the host's router drops everything during the cut.";
    const n = summarize(noticed);
    return {
      figures: [
        {
          id: "11a",
          name: `NAT lab: link restored after a ${CUT_SEC} s cut → data flowing both ways`,
          unit: "ms",
          ...roundSummary(summarize(flowing), 0),
          target: "–",
          met: null,
          note,
        },
        {
          id: "11b",
          name: "NAT lab: killed renderer → the other player's `reconnecting`",
          unit: "ms",
          ...roundSummary(n, 0),
          target: `<= ${NOTICE_TARGET_MS}`,
          met: n.max <= NOTICE_TARGET_MS,
          note,
        },
      ],
      note: "",
    };
  } finally {
    await lab.close();
  }
}
