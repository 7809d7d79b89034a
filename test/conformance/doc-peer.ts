/**
 * A third-party peer written from docs/protocol.md alone (issue 9): plain `fetch` for the
 * Registry HTTP API, node-datachannel's W3C polyfill for WebRTC. It imports nothing from src/
 * or server/: every request, body, header and channel parameter below is what the document
 * says (section names in the comments), so a test that runs it against `RegistryClient` tests
 * the document.
 *
 * Paths: `fast` (docs/protocol.md, Handshake, Fast path: CORS-simple POSTs, the offer with the
 * create, the join's answer carrying the offer and the host's candidates, the answer carrying
 * the guest's candidates, `/watch` for reading) when the server advertises `fast`; otherwise
 * the MVP (preflighted form, the room polled every 1000 ms, the full candidate set every
 * 1000 ms, deduped by key). No control channel (optional for a third-party peer, Control
 * channel).
 */
import { RTCPeerConnection } from "node-datachannel/polyfill";

export interface Candidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}
interface CandidatePage {
  items: Candidate[];
  mode: "full" | "delta";
  lastSeq: number;
  complete: boolean;
}
interface Description {
  type: "offer" | "answer";
  sdp: string;
}
interface Snapshot {
  status: "open" | "joined" | "paired" | "closed";
  offer: Description | null;
  answer: Description | null;
  version: number;
}

/** An error envelope (docs/protocol.md, Errors) with the status and the features header. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly retryable: boolean,
    readonly features: string[],
  ) {
    super(`${status} ${code}`);
  }
}

export interface DocPeerOptions {
  baseUrl: string;
  /** `auto`: the fast path when the server serves `fast`, else the MVP. `mvp`: the MVP always. */
  mode?: "auto" | "mvp";
  /** Bound on connect() (ms). */
  connectTimeoutMs?: number;
}

type Role = "host" | "guest";
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
const key = (c: Candidate) => JSON.stringify([c.candidate, c.sdpMid ?? "", c.sdpMLineIndex ?? -1]);

export class DocPeer {
  /** Which signaling path was used, known after the first answer. */
  path: "fast" | "mvp" | undefined;
  features: string[] = [];
  /** Every request made: `METHOD /path status (simple|preflighted)`, codes replaced by `C`. */
  readonly requests: string[] = [];
  readonly received: string[] = [];
  /** What went wrong in the handshake loops (also after open, when nobody awaits them). */
  readonly errors: string[] = [];
  /** Why the other side ended the session (DataChannel close / connection state), once. */
  readonly peerClosed: Promise<string>;
  readonly opened: Promise<void>;

  private role: Role | undefined;
  private code = "";
  private token = "";
  private pc: RTCPeerConnection | undefined;
  private dc: RTCDataChannel | undefined;
  private readonly stop = new AbortController();
  /** Aborts the reads in flight once open: "Stop reading once it is open" (A minimal third-party peer). */
  private readonly reads = new AbortController();
  private closing = false;
  private isOpen = false;
  private resolvePeerClosed!: (why: string) => void;
  private resolveOpened!: () => void;
  private rejectOpened!: (e: Error) => void;
  // Our candidates (docs/protocol.md, DataChannels, Order of writes).
  private readonly pending: Candidate[] = [];
  private publishing = false;
  private publishEnabled = false;
  private gatheringDone = false;
  private endSent = false;
  // Theirs: applied after the remote description is set.
  private remoteSet = false;
  private readonly queued: Candidate[] = [];
  private readonly seen = new Set<string>();
  private remoteComplete = false;
  private joinResult: { room?: Snapshot; candidates?: CandidatePage } | undefined;

  constructor(private readonly opts: DocPeerOptions) {
    this.peerClosed = new Promise((r) => (this.resolvePeerClosed = r));
    this.opened = new Promise((res, rej) => {
      this.resolveOpened = res;
      this.rejectOpened = rej;
    });
    this.opened.catch(() => {});
  }

  private get fast(): boolean {
    return this.path === "fast";
  }

  // ---- HTTP (docs/protocol.md, Requests) ----

  private async call<T>(
    method: "GET" | "POST",
    path: string,
    opts: { body?: object; simple?: boolean; token?: boolean; query?: string; read?: boolean } = {},
  ): Promise<{ status: number; json: T; etag: string | null }> {
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (method === "POST") {
      if (opts.simple) {
        // The simple form (ext `fast`): text/plain, no custom header, v and token in the body.
        headers["Content-Type"] = "text/plain;charset=UTF-8";
        body = JSON.stringify({ v: 1, ...(opts.token ? { token: this.token } : {}), ...opts.body });
      } else {
        headers["Content-Type"] = "application/json";
        headers["X-Registry-Version"] = "1";
        body = JSON.stringify(opts.body ?? {});
      }
    }
    if (opts.token && !opts.simple) headers["X-Access-Token"] = this.token;
    // Every wait is bounded: a long-poll holds at most 25 s (Limits), so 35 s is a dead server.
    const signals = [this.stop.signal, AbortSignal.timeout(35_000)];
    if (opts.read) signals.push(this.reads.signal);
    const signal = AbortSignal.any(signals);
    const res = await fetch(`${this.opts.baseUrl}${path}${opts.query ?? ""}`, { method, headers, body, signal });
    this.features = (res.headers.get("X-Registry-Features") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const text = await res.text();
    const shown = this.code ? path.replace(this.code, "C") : path;
    this.requests.push(`${method} ${shown} ${res.status} ${opts.simple ? "simple" : "preflighted"}`);
    const json = text ? (JSON.parse(text) as T) : (undefined as T);
    if (!res.ok) {
      const e = (json as { error?: { code?: string; retryable?: boolean } } | undefined)?.error;
      if (process.env.DOC_PEER_DEBUG) console.log(`doc-peer: ${method} ${shown} → ${text}`);
      throw new RegistryError(res.status, e?.code ?? "?", e?.retryable === true, this.features);
    }
    return { status: res.status, json, etag: res.headers.get("ETag") };
  }

  /**
   * A first request: in the simple form when we may use `fast`; a `403` whose features header
   * lacks `fast` means "nothing done, send it again preflighted" (docs/protocol.md, Fast).
   */
  private async first<T>(path: string, fastBody: object, mvpBody: object) {
    if (this.opts.mode !== "mvp") {
      try {
        const r = await this.call<T>("POST", path, { body: fastBody, simple: true });
        this.path = this.features.includes("fast") ? "fast" : "mvp";
        return r;
      } catch (e) {
        if (!(e instanceof RegistryError && e.status === 403 && !e.features.includes("fast"))) throw e;
      }
    }
    const r = await this.call<T>("POST", path, { body: mvpBody });
    this.path = "mvp";
    return r;
  }

  /** POST with a token, in the form of the path in use. */
  private post<T>(path: string, body: object) {
    return this.call<T>("POST", `/rooms/${this.code}${path}`, { body, simple: this.fast, token: true });
  }

  /** A read (`/watch`, `GET`): given up once open. */
  private read<T>(method: "GET" | "POST", path: string, body?: object) {
    const simple = method === "POST" && this.fast;
    return this.call<T>(method, `/rooms/${this.code}${path}`, { body, simple, token: true, read: true });
  }

  // ---- WebRTC (docs/protocol.md, DataChannels) ----

  private newPc(): RTCPeerConnection {
    // No ICE servers: loopback needs none (and the test sends no traffic off the machine).
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addEventListener("icecandidate", (e) => {
      const c = (e as RTCPeerConnectionIceEvent).candidate;
      if (!c?.candidate) return;
      // DataChannels: "candidates must be `candidate:…` strings" (libdatachannel says a=candidate:).
      const cand: Candidate = { candidate: c.candidate.replace(/^a=/, ""), sdpMid: c.sdpMid };
      if (c.sdpMLineIndex != null) cand.sdpMLineIndex = c.sdpMLineIndex;
      this.pending.push(cand);
      void this.publish();
    });
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState !== "complete") return;
      this.gatheringDone = true;
      void this.publish();
    });
    pc.addEventListener("connectionstatechange", () => {
      const s = pc.connectionState;
      if (s === "closed" || s === "failed") this.ended(`connection_${s}`);
    });
    this.pc = pc;
    return pc;
  }

  private adopt(dc: RTCDataChannel): void {
    this.dc = dc;
    dc.binaryType = "arraybuffer";
    dc.addEventListener("message", (e) => this.received.push(String((e as MessageEvent).data)));
    dc.addEventListener("close", () => this.ended("datachannel_close"));
    const open = () => {
      this.isOpen = true;
      this.reads.abort();
      this.resolveOpened();
    };
    if (dc.readyState === "open") open();
    else dc.addEventListener("open", open, { once: true });
  }

  private ended(why: string): void {
    if (this.closing) return;
    this.rejectOpened(new Error(`session ended before open: ${why}`));
    this.resolvePeerClosed(why);
  }

  // ---- candidates (docs/protocol.md, Candidates; Extensions: batch, end) ----

  private async publish(): Promise<void> {
    if (!this.publishEnabled || this.publishing || this.closing) return;
    this.publishing = true;
    try {
      while (!this.closing) {
        const batch = this.features.includes("batch");
        if (this.pending.length > 0) {
          const items = batch ? this.pending.splice(0, 40) : this.pending.splice(0, 1);
          const end = batch && this.features.includes("end") && this.gatheringDone && this.pending.length === 0;
          await this.post("/candidate", batch ? { items, ...(end ? { end: true } : {}) } : items[0]!);
          if (end) this.endSent = true;
        } else if (this.gatheringDone && !this.endSent && this.features.includes("end")) {
          this.endSent = true;
          await this.post("/candidate", { end: true });
        } else break;
      }
    } catch (e) {
      if (!this.closing) this.errors.push(`candidate post: ${(e as Error).message}`);
    } finally {
      this.publishing = false;
    }
  }

  private async addRemote(page: CandidatePage | undefined): Promise<void> {
    if (!page) return;
    for (const c of page.items) {
      if (this.seen.has(key(c))) continue;
      this.seen.add(key(c));
      this.queued.push(c);
    }
    if (page.complete) this.remoteComplete = true;
    await this.flushRemote();
  }

  private async flushRemote(): Promise<void> {
    if (!this.remoteSet || !this.pc) return;
    for (const c of this.queued.splice(0)) {
      await this.pc.addIceCandidate({
        candidate: c.candidate,
        sdpMid: c.sdpMid ?? null,
        sdpMLineIndex: c.sdpMLineIndex ?? null,
      });
    }
    // `complete: true` means addIceCandidate() with no argument (DataChannels, Order of writes).
    if (this.remoteComplete) await this.pc.addIceCandidate();
  }

  private async setRemote(d: Description): Promise<void> {
    const pc = this.pc!;
    await pc.setRemoteDescription(d).catch((e: Error) => {
      const lines = d.sdp.split("\r\n").filter((l) => l.startsWith("a=candidate") || l.startsWith("a=end-of"));
      const states = `${pc.signalingState}/${pc.iceGatheringState}/${pc.iceConnectionState}/${pc.connectionState}`;
      throw new Error(`setRemoteDescription(${d.type}): ${e.message} (${lines.length} candidate lines; ${states})`);
    });
    this.remoteSet = true;
    await this.flushRemote();
  }

  // ---- host ----

  /** Creates the room (with the offer on the fast path); returns what the guest needs. */
  async createRoom(hostUserName: string): Promise<{ code: string; joinCode: string }> {
    this.role = "host";
    const pc = this.newPc();
    // DataChannels: the host creates `data` ({ordered: true}) before createOffer().
    this.adopt(pc.createDataChannel("data", { ordered: true }));
    const offer = await pc.createOffer();
    const sdp = { type: "offer" as const, sdp: offer.sdp! };
    const { json } = await this.first<{ code: string; ownerToken: string; joinCode: string }>(
      "/rooms",
      { hostUserName, offer: sdp },
      { hostUserName },
    );
    this.code = json.code;
    this.token = json.ownerToken;
    await pc.setLocalDescription(offer);
    // MVP: POST /offer before any candidate (an offer clears the host's stored candidates).
    if (!this.fast) await this.post("/offer", sdp);
    this.publishEnabled = true;
    void this.publish();
    return { code: json.code, joinCode: json.joinCode };
  }

  // ---- guest ----

  async join(code: string, joinCode: string, guestUserName: string): Promise<void> {
    this.role = "guest";
    this.code = code;
    const body = { joinCode, guestUserName };
    const { json } = await this.first<{ guestToken: string; room?: Snapshot; candidates?: CandidatePage }>(
      `/rooms/${code}/join`,
      body,
      body,
    );
    this.token = json.guestToken;
    this.joinResult = json;
  }

  // ---- both ----

  /** Runs the handshake; resolves when `data` is open. */
  async connect(): Promise<void> {
    const ms = this.opts.connectTimeoutMs ?? 30_000;
    let t: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`doc-peer: not open within ${ms} ms`)), ms);
    });
    const run = this.role === "host" ? this.runHost() : this.runGuest();
    this.guard(run);
    try {
      await Promise.race([this.opened, bound]);
    } finally {
      clearTimeout(t);
    }
  }

  /** A loop's failure: recorded and ends connect(), unless it is our own stop (close, open). */
  private guard(p: Promise<void>): void {
    p.catch((e: Error) => {
      if (this.closing || (this.isOpen && e.name === "AbortError")) return;
      this.errors.push(e.message);
      this.rejectOpened(e);
    });
  }

  private async runHost(): Promise<void> {
    if (this.fast) {
      // Fast path: one held /watch for the answer and the guest's candidates.
      let since = 0;
      while (!this.isOpen && !this.closing) {
        const body = this.remoteSet ? { since, wait: 25 } : { for: "answer", since, wait: 25 };
        const { json } = await this.read<{ room: Snapshot; candidates?: CandidatePage }>("POST", "/watch", body);
        if (json.room.status === "closed") throw new Error("room closed before open");
        if (!this.remoteSet && json.room.answer) await this.setRemote(json.room.answer);
        if (json.candidates) since = json.candidates.lastSeq;
        await this.addRemote(json.candidates);
        if (this.remoteSet && this.remoteComplete) return;
      }
      return;
    }
    this.guard(this.drainMvp());
    while (!this.isOpen && !this.closing) {
      const { json } = await this.read<Snapshot>("GET", "");
      if (json.status === "closed") throw new Error("room closed before open");
      if (json.answer) return this.setRemote(json.answer);
      await sleep(1000, this.stop.signal);
    }
  }

  private async runGuest(): Promise<void> {
    const pc = this.newPc();
    pc.addEventListener("datachannel", (e) => {
      const dc = (e as RTCDataChannelEvent).channel;
      // DataChannels: adopt `data`; any other channel (we asked for no unreliable one) is closed.
      if (dc.label === "data") this.adopt(dc);
      else dc.close();
    });
    let offer: Description | null = null;
    let since = 0;
    if (this.fast) {
      // The join's answer carries the room (with the offer) and the host's candidates so far.
      offer = this.joinResult?.room?.offer ?? null;
      since = this.joinResult?.candidates?.lastSeq ?? 0;
      await this.addRemote(this.joinResult?.candidates);
      while (!offer && !this.closing) {
        const { json } = await this.read<{ room: Snapshot; candidates?: CandidatePage }>("POST", "/watch", {
          for: "offer",
          since,
          wait: 25,
        });
        if (json.room.status === "closed") throw new Error("room closed before open");
        offer = json.room.offer;
        if (json.candidates) since = json.candidates.lastSeq;
        await this.addRemote(json.candidates);
      }
    } else {
      this.publishEnabled = true; // MVP: candidates any time after the join is accepted
      while (!offer && !this.closing) {
        const { json } = await this.read<Snapshot>("GET", "");
        if (json.status === "closed") throw new Error("room closed before open");
        offer = json.offer;
        if (!offer) await sleep(1000, this.stop.signal);
      }
    }
    if (!offer) return;
    await this.setRemote(offer);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    const sdp = { type: "answer" as const, sdp: answer.sdp! };
    if (this.fast) {
      // The answer carries the candidates gathered so far and `since`: its reply is the host's
      // candidates after it.
      const candidates = this.pending.splice(0, 40);
      const end = this.gatheringDone && this.pending.length === 0 && this.features.includes("end");
      if (end) this.endSent = true;
      const { json } = await this.post<{ candidates?: CandidatePage }>("/answer", {
        ...sdp,
        ...(candidates.length > 0 ? { candidates } : {}),
        ...(end ? { end: true } : {}),
        since,
      });
      if (json?.candidates) since = json.candidates.lastSeq;
      await this.addRemote(json?.candidates);
      this.publishEnabled = true;
      void this.publish();
      while (!this.isOpen && !this.closing && !this.remoteComplete) {
        const r = await this.read<{ room: Snapshot; candidates?: CandidatePage }>("POST", "/watch", {
          since,
          wait: 25,
        });
        if (r.json.room.status === "closed") throw new Error("room closed before open");
        if (r.json.candidates) since = r.json.candidates.lastSeq;
        await this.addRemote(r.json.candidates);
      }
      return;
    }
    for (let i = 0; ; i++) {
      try {
        await this.post("/answer", sdp);
        break;
      } catch (e) {
        // Minimal third-party peer, step 3: on `409 no_offer` re-post after a moment.
        if (!(e instanceof RegistryError && e.code === "no_offer") || i >= 10) throw e;
        await sleep(500, this.stop.signal);
      }
    }
    void this.publish();
    await this.drainMvp();
  }

  /** MVP: the full candidate set about every second until open, deduped by key. */
  private async drainMvp(): Promise<void> {
    while (!this.isOpen && !this.closing) {
      const { json } = await this.read<CandidatePage>("GET", "/candidates");
      await this.addRemote(json);
      await sleep(1000, this.stop.signal);
    }
  }

  send(data: string): void {
    this.dc!.send(data);
  }

  /** Leaves (DataChannels, Close): channel and connection closed, then POST /close. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.rejectOpened(new Error("closed before open"));
    this.stop.abort();
    this.dc?.close();
    this.pc?.close();
    if (this.token) {
      await fetch(`${this.opts.baseUrl}/rooms/${this.code}/close`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Registry-Version": "1", "X-Access-Token": this.token },
        body: "{}",
        signal: AbortSignal.timeout(5000),
      })
        .then((r) => this.requests.push(`POST /rooms/C/close ${r.status} preflighted`))
        .catch(() => {});
    }
  }
}
