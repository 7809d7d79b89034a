/**
 * A synthetic Registry handshake over HTTP, as two real clients on the fast path run it
 * (registry-api.md §4, §8): create → join → host posts its offer and long-polls the room for
 * the answer while the guest long-polls for the offer and answers → each side posts its
 * candidates as one batch with `end: true` and long-polls the other side's deltas until
 * `complete`. Then the host closes the room (timed, but not part of the handshake).
 * No Origin header: a non-browser client, so no CORS preflights (figure 2 counts those).
 */
import { Agent, request } from "node:http";

export interface Timing {
  endpoint: string;
  /** Completion time (performance.now() of this process). */
  at: number;
  ms: number;
  status: number;
}

const SDP = (kind: string) =>
  [
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    `a=ice-ufrag:${kind}Ab1`,
    "a=ice-pwd:4ZcD9V+gZl0pY7N3wGdbmRIt",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
    `a=setup:${kind === "offer" ? "actpass" : "active"}`,
    "a=mid:0",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    "",
  ].join("\r\n");
const OFFER = SDP("offer");
const ANSWER = SDP("answer");
const CANDS = (side: string) =>
  [1, 2].map((i) => ({
    candidate: `candidate:${i}0${side === "host" ? 1 : 2} 1 udp 2122260223 ${side}-${i}-3f2a9c1e.local ${50000 + i} typ host generation 0 ufrag Ab1 network-id ${i}`,
    sdpMid: "0",
    sdpMLineIndex: 0,
  }));

export class Http {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  readonly timings: Timing[] = [];
  constructor(readonly base: URL) {}

  call(
    method: "GET" | "POST",
    path: string,
    endpoint: string,
    opts: { token?: string; body?: unknown } = {},
  ): Promise<{ status: number; json: any }> {
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = {};
    if (method === "POST") {
      headers["X-Registry-Version"] = "1";
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = body?.length ?? 0;
    }
    if (opts.token) headers["X-Access-Token"] = opts.token;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.base.hostname, port: this.base.port, method, path, headers, agent: this.agent, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const at = performance.now();
            const ms = at - t0;
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            this.timings.push({ endpoint, at, ms, status });
            let json: any = null;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              /* not JSON */
            }
            if (status >= 400) reject(new Error(`${method} ${endpoint} → ${status} ${text.slice(0, 200)}`));
            else resolve({ status, json });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${endpoint}: timeout`)));
      req.on("error", reject);
      req.end(body);
    });
  }
}

/** One full handshake; resolves with its latency (create start → both sides complete), ms. */
export async function handshake(http: Http): Promise<number> {
  const t0 = performance.now();
  const created = (await http.call("POST", "/rooms", "POST /rooms", { body: { hostUserName: "Host" } })).json as {
    code: string;
    ownerToken: string;
    joinCode: string;
  };
  const { code, ownerToken } = created;
  const joined = (
    await http.call("POST", `/rooms/${code}/join`, "POST /rooms/:code/join", {
      body: { joinCode: created.joinCode, guestUserName: "Guest" },
    })
  ).json as { guestToken: string };
  const guestToken = joined.guestToken;

  /** Long-polls the room until `done(snapshot)`; at most 20 reads. */
  const watchRoom = async (token: string, done: (s: any) => boolean) => {
    let since = 0;
    for (let i = 0; i < 20; i++) {
      const r = await http.call("GET", `/rooms/${code}?since=${since}&wait=25`, "GET /rooms/:code (long-poll)", {
        token,
      });
      if (done(r.json)) return r.json;
      since = r.json.version;
    }
    throw new Error("room: no progress in 20 reads");
  };
  /** Long-polls the other side's candidate deltas until complete; at most 20 reads. */
  const drain = async (token: string) => {
    let since = 0;
    for (let i = 0; i < 20; i++) {
      const r = await http.call(
        "GET",
        `/rooms/${code}/candidates?since=${since}&wait=25`,
        "GET /rooms/:code/candidates (long-poll)",
        { token },
      );
      since = r.json.lastSeq;
      if (r.json.complete) return;
    }
    throw new Error("candidates: no progress in 20 reads");
  };

  const hostSide = async () => {
    await http.call("POST", `/rooms/${code}/offer`, "POST /rooms/:code/offer", {
      token: ownerToken,
      body: { type: "offer", sdp: OFFER },
    });
    await Promise.all([
      watchRoom(ownerToken, (s) => s.answer !== null),
      http.call("POST", `/rooms/${code}/candidate`, "POST /rooms/:code/candidate", {
        token: ownerToken,
        body: { items: CANDS("host"), end: true },
      }),
      drain(ownerToken),
    ]);
  };
  const guestSide = async () => {
    await watchRoom(guestToken, (s) => s.offer !== null);
    await http.call("POST", `/rooms/${code}/answer`, "POST /rooms/:code/answer", {
      token: guestToken,
      body: { type: "answer", sdp: ANSWER },
    });
    await Promise.all([
      http.call("POST", `/rooms/${code}/candidate`, "POST /rooms/:code/candidate", {
        token: guestToken,
        body: { items: CANDS("guest"), end: true },
      }),
      drain(guestToken),
    ]);
  };
  await Promise.all([hostSide(), guestSide()]);
  const ms = performance.now() - t0;
  await http.call("POST", `/rooms/${code}/close`, "POST /rooms/:code/close", { token: ownerToken, body: {} });
  return ms;
}
