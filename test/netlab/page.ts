/**
 * What the lab's players record and how the tests read it. The init script runs before the
 * page's own scripts: it records the element's events and test packets in the shape
 * test/e2e/helpers.ts reads (window.rp.ev / window.rp.packets), keeps every RTCPeerConnection
 * the page makes (to read the selected candidate pair), and sets the element's attributes
 * before the drop-in upgrades it (so the real demo page can be used with lab settings).
 */
import type { Page } from "playwright-core";

export interface PlayerOptions {
  /** Attributes put on <registry-peer> before it upgrades (null removes one). */
  attrs?: Record<string, string | null>;
  /** More element event types to record (besides the element's known ones). */
  events?: string[];
}

/** Serialised into the page by addInitScript: must not refer to anything outside itself. */
export function playerInitScript(opts: PlayerOptions): void {
  interface Rec {
    type: string;
    detail: unknown;
    at: number;
  }
  const w = window as unknown as {
    rp: {
      ev: Rec[];
      packets: { data: string; reliable: boolean; at: number }[];
      pcs: RTCPeerConnection[];
      /** Candidates seen: "local"/"remote", type, address (for diagnostics and assertions). */
      cands: { side: string; type: string; address: string }[];
    };
    RTCPeerConnection: typeof RTCPeerConnection;
  };
  w.rp = { ev: [], packets: [], pcs: [], cands: [] };
  // reconnecting / reconnected / stats: issue #14's events, recorded once the element has them.
  const types = [
    "phase-change",
    "room-created",
    "peer-open",
    "peer-close",
    "peer-error",
    "drain",
    "reconnecting",
    "reconnected",
    "stats",
  ];
  for (const type of [...types, ...(opts.events ?? [])]) {
    document.addEventListener(type, (e) =>
      w.rp.ev.push({ type, detail: (e as CustomEvent).detail ?? null, at: Date.now() }),
    );
  }
  document.addEventListener("packet", (e) => {
    const d = (e as CustomEvent<{ data: unknown; reliable: boolean }>).detail;
    if (typeof d.data === "string" && /^[a-z]+:/.test(d.data))
      w.rp.packets.push({ data: d.data, reliable: d.reliable, at: Date.now() });
  });
  const Orig = w.RTCPeerConnection;
  class Recorded extends Orig {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.rp.pcs.push(this);
      this.addEventListener("icecandidate", (e) => {
        if (e.candidate)
          w.rp.cands.push({ side: "local", type: e.candidate.type ?? "?", address: e.candidate.address ?? "?" });
      });
    }
    override addIceCandidate(c?: RTCIceCandidateInit | null): Promise<void> {
      const m = c?.candidate ? / typ (\w+)/.exec(c.candidate) : null;
      if (c?.candidate)
        w.rp.cands.push({ side: "remote", type: m?.[1] ?? "?", address: c.candidate.split(" ")[4] ?? "?" });
      return super.addIceCandidate(c as RTCIceCandidateInit);
    }
  }
  w.RTCPeerConnection = Recorded;
  const attrs = opts.attrs ?? {};
  const apply = (el: Element): void => {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null) el.removeAttribute(k);
      else el.setAttribute(k, v);
    }
  };
  if (Object.keys(attrs).length > 0) {
    const seen = new WeakSet<Element>();
    const mo = new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n instanceof Element && n.localName === "registry-peer" && !seen.has(n)) {
            seen.add(n);
            apply(n);
          }
        }
      }
    });
    mo.observe(document, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", () => mo.disconnect(), { once: true });
  }
}

export interface Route {
  local: string;
  remote: string;
  protocol: string;
  localAddress: string;
  remoteAddress: string;
  relayed: boolean;
}

/** The selected candidate pair of the page's newest RTCPeerConnection (from getStats()). */
export function route(page: Page): Promise<Route | null> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { rp: { pcs: RTCPeerConnection[] } }).rp.pcs;
    const pc = pcs[pcs.length - 1];
    if (!pc) return null;
    const st = await pc.getStats();
    let pair: RTCIceCandidatePairStats | undefined;
    st.forEach((r: { type: string; selectedCandidatePairId?: string }) => {
      if (r.type === "transport" && r.selectedCandidatePairId)
        pair = st.get(r.selectedCandidatePairId) as RTCIceCandidatePairStats;
    });
    if (!pair) {
      st.forEach((r: RTCIceCandidatePairStats) => {
        if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r;
      });
    }
    if (!pair) return null;
    const l = st.get(pair.localCandidateId) as { candidateType: string; protocol: string; address: string };
    const r = st.get(pair.remoteCandidateId) as { candidateType: string; address: string };
    return {
      local: l.candidateType,
      remote: r.candidateType,
      protocol: l.protocol,
      localAddress: l.address,
      remoteAddress: r.address,
      relayed: l.candidateType === "relay" || r.candidateType === "relay",
    };
  });
}

/**
 * Starts sending `n` numbered packets "<prefix><i>" on the reliable channel, one every
 * `intervalMs` (backpressure honoured: a refused packet waits for `drain` and goes again).
 * Returns at once; pacedDone() waits for the last one.
 */
export async function startPaced(page: Page, n: number, prefix: string, intervalMs: number): Promise<void> {
  await page.evaluate(
    ([n, prefix, intervalMs]) => {
      const w = window as unknown as { rpPaced?: Promise<number> };
      const el = document.querySelector("registry-peer")!;
      w.rpPaced = (async () => {
        let refused = 0;
        for (let i = 0; i < (n as number); i++) {
          while (!el.send(`${prefix}${i}`, { reliable: true })) {
            refused++;
            await new Promise((r) => el.addEventListener("drain", r, { once: true }));
          }
          if ((intervalMs as number) > 0) await new Promise((r) => setTimeout(r, intervalMs as number));
        }
        return refused;
      })();
    },
    [n, prefix, intervalMs] as const,
  );
}

export function pacedDone(page: Page, timeoutMs: number): Promise<number> {
  return page.evaluate(
    (t) =>
      Promise.race([
        (window as unknown as { rpPaced: Promise<number> }).rpPaced,
        new Promise<number>((_, fail) => setTimeout(() => fail(new Error(`paced send not done in ${t} ms`)), t)),
      ]),
    timeoutMs,
  );
}

export interface PacketCheck {
  received: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  /** Longest gap between two consecutive arrivals (ms): how long the stream stalled. */
  longestGapMs: number;
  /** Epoch ms of the arrival that ended the longest gap (data flowing again). */
  gapEndAt: number;
}

/** Counts what arrived of "<prefix>0" … "<prefix><n-1>": lost, duplicated, out of order. */
export function checkPackets(page: Page, prefix: string, n: number): Promise<PacketCheck> {
  return page.evaluate(
    ([prefix, n]) => {
      const got = (window as unknown as { rp: { packets: { data: string; at: number }[] } }).rp.packets.filter((p) =>
        p.data.startsWith(prefix as string),
      );
      const seen = new Set<number>();
      let duplicates = 0;
      let outOfOrder = 0;
      let last = -1;
      let longestGapMs = 0;
      let gapEndAt = 0;
      for (let k = 0; k < got.length; k++) {
        const i = Number(got[k]!.data.slice((prefix as string).length));
        if (seen.has(i)) duplicates++;
        seen.add(i);
        if (i !== last + 1) outOfOrder++;
        last = i;
        if (k > 0 && got[k]!.at - got[k - 1]!.at > longestGapMs) {
          longestGapMs = got[k]!.at - got[k - 1]!.at;
          gapEndAt = got[k]!.at;
        }
      }
      let missing = 0;
      for (let i = 0; i < (n as number); i++) if (!seen.has(i)) missing++;
      return { received: got.length, missing, duplicates, outOfOrder, longestGapMs, gapEndAt };
    },
    [prefix, n] as const,
  );
}

/**
 * Gathers candidates on a throwaway RTCPeerConnection with the given ICE servers (relay-only)
 * and reports the candidate types and ICE candidate errors: is this TURN server accepting
 * these credentials? Bounded by `timeoutMs`.
 */
export function probeRelay(
  page: Page,
  iceServers: RTCIceServer[],
  timeoutMs = 8000,
): Promise<{ types: string[]; errors: { code: number; text: string }[] }> {
  return page.evaluate(
    async ([iceServers, timeoutMs]) => {
      const Orig = Object.getPrototypeOf(
        (window as unknown as { RTCPeerConnection: { prototype: object } }).RTCPeerConnection.prototype,
      ).constructor as typeof RTCPeerConnection;
      const pc = new Orig({ iceServers: iceServers as RTCIceServer[], iceTransportPolicy: "relay" });
      const types: string[] = [];
      const errors: { code: number; text: string }[] = [];
      pc.addEventListener("icecandidateerror", (e) =>
        errors.push({
          code: (e as RTCPeerConnectionIceErrorEvent).errorCode,
          text: (e as RTCPeerConnectionIceErrorEvent).errorText,
        }),
      );
      pc.createDataChannel("probe");
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((done) => {
        const t = setTimeout(done, timeoutMs as number);
        pc.addEventListener("icecandidate", (e) => {
          if (e.candidate) types.push(e.candidate.type ?? "?");
          else {
            clearTimeout(t);
            done();
          }
        });
      });
      pc.close();
      return { types, errors };
    },
    [iceServers, timeoutMs] as const,
  );
}

/** The selected pair's current round-trip time (ms) from the page's newest connection, or null. */
export function selectedRttMs(page: Page): Promise<number | null> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { rp: { pcs: RTCPeerConnection[] } }).rp.pcs;
    const pc = pcs[pcs.length - 1];
    if (!pc) return null;
    const st = await pc.getStats();
    let rtt: number | null = null;
    st.forEach((r: { type: string; selectedCandidatePairId?: string }) => {
      if (r.type !== "transport" || !r.selectedCandidatePairId) return;
      const p = st.get(r.selectedCandidatePairId) as RTCIceCandidatePairStats | undefined;
      if (p?.currentRoundTripTime !== undefined) rtt = p.currentRoundTripTime * 1000;
    });
    return rtt;
  });
}

/** Can the page reach `url` right now (any HTTP answer counts)? Bounded by `timeoutMs`. */
export function canReach(page: Page, url: string, timeoutMs = 1500): Promise<boolean> {
  return page.evaluate(
    ([url, t]) =>
      fetch(url as string, { mode: "no-cors", signal: AbortSignal.timeout(t as number), cache: "no-store" }).then(
        () => true,
        () => false,
      ),
    [url, timeoutMs] as const,
  );
}

export interface Answer {
  status: number;
  body: unknown;
}

/** A request from the page to a URL (the Registry), as the page's origin; JSON both ways. */
export function pageFetch(
  page: Page,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  return page.evaluate(
    async ([url, init]) => {
      const r = await fetch(url, {
        method: init.method ?? "GET",
        headers: { ...(init.body !== undefined && { "Content-Type": "application/json" }), ...init.headers },
        ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await r.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON: keep the text */
      }
      return { status: r.status, body };
    },
    [url, init] as const,
  );
}

/**
 * Candidate pairs of the page's newest connection that ICE checked successfully (types,
 * protocol): state "succeeded", or a check answered at least once. libwebrtc reports a pair
 * "in-progress" again while each later check on it (keepalive, consent) is in flight, so on a
 * relayed pair, whose checks take longer, "succeeded" alone may list none at that moment.
 */
export function succeededPairs(page: Page): Promise<{ local: string; remote: string; protocol: string }[]> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { rp: { pcs: RTCPeerConnection[] } }).rp.pcs;
    const pc = pcs[pcs.length - 1];
    if (!pc) return [];
    const st = await pc.getStats();
    const out: { local: string; remote: string; protocol: string }[] = [];
    st.forEach((p: RTCIceCandidatePairStats) => {
      if (p.type !== "candidate-pair" || (p.state !== "succeeded" && !((p.responsesReceived ?? 0) > 0))) return;
      const l = st.get(p.localCandidateId) as { candidateType: string; protocol: string } | undefined;
      const r = st.get(p.remoteCandidateId) as { candidateType: string } | undefined;
      if (l && r) out.push({ local: l.candidateType, remote: r.candidateType, protocol: l.protocol });
    });
    return out;
  });
}
