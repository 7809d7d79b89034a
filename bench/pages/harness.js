// In-page half of bench/browser.ts. One page = one player (its own browser context).
// Two transports are driven the same way: "el" (the <registry-peer> drop-in) and "raw"
// (a bare RTCPeerConnection whose SDP and candidates the Node harness relays: the floor).
// Every wait here is bounded: a bench must never hang.

const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms where isolated

/** Same policy as the client's default (src/client): threshold 256 KiB, low = threshold / 4. */
const THRESHOLD = 262144;
const LOW = THRESHOLD / 4;

const state = {
  el: null,
  raw: null, // { pc, dc, udc, pending: [] }
  // Current message handler per transport; the channels' listeners dispatch to it.
  onEl: null,
  onRaw: null,
  // Signals that arrive before this page's rawConnect() ran (the relay is not ordered with it).
  early: [],
};

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));
}

// ---- element ---------------------------------------------------------------------------

async function elSetup({ baseUrl, role, code, joinCode }) {
  elTeardown();
  await customElements.whenDefined("registry-peer");
  const el = document.createElement("registry-peer");
  el.setAttribute("base-url", baseUrl);
  el.setAttribute("unreliable", "");
  el.role = role;
  if (code) el.setAttribute("code", code);
  if (joinCode) el.setAttribute("join-code", joinCode);
  el.addEventListener("packet", (e) => state.onEl?.(e.detail.data, e.detail.reliable));
  document.body.append(el);
  state.el = el;
  if (role === "host") {
    const r = await Promise.race([el.createRoom(), timeout(10_000, "createRoom")]);
    return { code: r.code, joinCode: r.joinCode };
  }
  await Promise.race([el.join(), timeout(10_000, "join")]);
  return {};
}

/** Starts connect() and resolves with { start, open } (epoch ms) at peer-open. */
function elConnect(limitMs) {
  const el = state.el;
  const opened = new Promise((resolve) => el.addEventListener("peer-open", () => resolve(now()), { once: true }));
  const start = now();
  el.connect().catch(() => {});
  const errors = [];
  el.addEventListener("peer-error", (e) => errors.push(e.detail.code));
  const stuck = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`timeout: element peer-open (${el.role}: phase ${el.phase}, errors [${errors.join(", ")}], pc ${el.state?.rtc?.pc?.connectionState ?? "none"})`)), limitMs),
  );
  return Promise.race([opened.then((open) => ({ start, open })), stuck]);
}

function elTeardown() {
  if (!state.el) return;
  try {
    state.el.close("bench");
  } catch {}
  state.el.remove();
  state.el = null;
}

// ---- raw RTCPeerConnection (the floor) ---------------------------------------------------

function rawTeardown() {
  if (!state.raw) return;
  try {
    state.raw.pc.close();
  } catch {}
  state.raw = null;
}

function wireRaw(dc, reliable) {
  dc.binaryType = "arraybuffer";
  dc.bufferedAmountLowThreshold = LOW;
  dc.addEventListener("message", (e) => state.onRaw?.(e.data, reliable));
}

/**
 * Host and guest start together; signals go out through window.benchSignal (a Playwright
 * binding) and come in through rawSignal(). Same channel set as the element with `unreliable`:
 * one reliable ordered channel, one unordered with maxRetransmits 0.
 */
function rawConnect(role, limitMs, sid) {
  rawTeardown();
  state.sid = sid;
  const start = now();
  const pc = new RTCPeerConnection({ iceServers: [] });
  const raw = { pc, dc: null, udc: null, pending: [], remoteSet: false, chain: Promise.resolve() };
  state.raw = raw;
  for (const m of state.early.splice(0).filter((m) => m.sid === sid)) rawSignal(m);
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate) window.benchSignal({ sid, kind: "candidate", candidate: e.candidate.toJSON() });
  });
  let open = 0;
  const opened = new Promise((resolve) => {
    const check = () => {
      if (raw.dc?.readyState === "open" && raw.udc?.readyState === "open") resolve(now());
    };
    const attach = (dc) => {
      if (dc.label === "data") raw.dc = dc;
      else raw.udc = dc;
      wireRaw(dc, dc.label === "data");
      dc.addEventListener("open", check);
      check();
    };
    if (role === "host") {
      attach(pc.createDataChannel("data", { ordered: true }));
      attach(pc.createDataChannel("unreliable", { ordered: false, maxRetransmits: 0 }));
      (async () => {
        await pc.setLocalDescription(await pc.createOffer());
        window.benchSignal({ sid, kind: "offer", sdp: pc.localDescription.sdp });
      })();
    } else {
      pc.addEventListener("datachannel", (e) => attach(e.channel));
    }
  });
  const stuck = new Promise((_, reject) =>
    setTimeout(() => {
      const dcs = `${raw.dc?.readyState ?? "none"}/${raw.udc?.readyState ?? "none"}`;
      reject(new Error(`timeout: raw open (${role}: signaling ${pc.signalingState}, ice ${pc.iceConnectionState}, pc ${pc.connectionState}, channels ${dcs}, remote set ${raw.remoteSet}, pending ${raw.pending.length})`));
    }, limitMs),
  );
  return Promise.race([opened.then((o) => ((open = o), { start, open })), stuck]);
}

/**
 * Takes one relayed signal and returns at once: signals of the current connection are applied
 * in order on that connection's own chain, so an operation left pending forever by a closed
 * RTCPeerConnection (as the spec allows) cannot hold up the next connection's signals.
 */
function rawSignal(msg) {
  const raw = state.raw;
  if (!raw || msg.sid !== state.sid) {
    // Ahead of our rawConnect(): keep it; from an older connection: drop it.
    if (msg.sid > (state.sid ?? -1)) state.early.push(msg);
    return;
  }
  raw.chain = raw.chain.then(() => applySignal(raw, msg)).catch(() => {});
}

async function applySignal(raw, msg) {
  const { pc } = raw;
  if (msg.kind === "offer") {
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    raw.remoteSet = true;
    await pc.setLocalDescription(await pc.createAnswer());
    window.benchSignal({ sid: msg.sid, kind: "answer", sdp: pc.localDescription.sdp });
  } else if (msg.kind === "answer") {
    await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    raw.remoteSet = true;
  } else if (msg.kind === "candidate") {
    if (!raw.remoteSet) {
      raw.pending.push(msg.candidate);
      return;
    }
    await pc.addIceCandidate(msg.candidate);
    return;
  }
  for (const c of raw.pending.splice(0)) await pc.addIceCandidate(c);
}

// ---- one API over both transports --------------------------------------------------------

function sender(kind, reliable) {
  if (kind === "el") {
    const el = state.el;
    return {
      trySend: (data) => el.send(data, { reliable }),
      waitDrain: () => new Promise((r) => el.addEventListener("drain", r, { once: true })),
      send: (data) => {
        // A ping or an ack is tiny: the queue is never full, but honour the contract anyway.
        if (!el.send(data, { reliable })) throw new Error("element refused a small packet");
      },
    };
  }
  const dc = reliable ? state.raw.dc : state.raw.udc;
  return {
    // The client's rule (src/client/rtc.ts), so both sides chunk and pause identically.
    trySend: (data) => {
      const size = typeof data === "string" ? data.length : data.byteLength;
      if (dc.bufferedAmount > 0 && dc.bufferedAmount + size > THRESHOLD) return false;
      dc.send(data);
      return true;
    },
    waitDrain: () => new Promise((r) => dc.addEventListener("bufferedamountlow", r, { once: true })),
    send: (data) => dc.send(data),
  };
}

function setHandler(kind, fn) {
  if (kind === "el") state.onEl = fn;
  else state.onRaw = fn;
}

/** Receiver: counts bytes; at `total` it acks with a short string on the reliable channel. */
function armReceive(kind, total) {
  let got = 0;
  const out = sender(kind, true);
  setHandler(kind, (data) => {
    if (typeof data === "string") return;
    got += data.byteLength;
    if (got >= total) {
      setHandler(kind, null);
      out.send("ack");
    }
  });
}

/** Sender: `total` bytes in `chunk`-byte ArrayBuffers, pausing on backpressure until drain. */
async function throughput(kind, total, chunk, limitMs) {
  const out = sender(kind, true);
  const buf = new Uint8Array(chunk);
  for (let i = 0; i < chunk; i++) buf[i] = i & 0xff;
  const acked = new Promise((resolve) =>
    setHandler(kind, (data) => {
      if (data === "ack") resolve(now());
    }),
  );
  const deadline = Date.now() + limitMs;
  const t0 = now();
  let sent = 0;
  let refusals = 0;
  while (sent < total) {
    if (Date.now() > deadline) throw new Error("throughput: time limit");
    const n = Math.min(chunk, total - sent);
    // A fresh buffer per packet, as a game would; the copy is cheap next to the network.
    if (out.trySend(n === chunk ? buf.slice().buffer : buf.slice(0, n).buffer)) sent += n;
    else {
      refusals++;
      await Promise.race([out.waitDrain(), timeout(10_000, "drain")]);
    }
  }
  const t1 = await Promise.race([acked, timeout(Math.max(1, deadline - Date.now()), "ack")]);
  setHandler(kind, null);
  return { ms: t1 - t0, refusals };
}

/** Echo side of the ping-pong: every string starting with "p" goes back on the channel it came on. */
function armEcho(kind) {
  const rel = sender(kind, true);
  const unrel = sender(kind, false);
  setHandler(kind, (data, reliable) => {
    if (typeof data === "string" && data[0] === "p") (reliable ? rel : unrel).send(data);
  });
}

/** `n` sequential ping-pongs; returns RTTs in µs. A lost unreliable ping times out after 1 s. */
async function pingPong(kind, reliable, n, limitMs) {
  const out = sender(kind, reliable);
  const rtts = [];
  let lost = 0;
  let waiting = null;
  setHandler(kind, (data) => {
    if (waiting && data === waiting.id) waiting.resolve(now());
  });
  const deadline = Date.now() + limitMs;
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    const id = `p${i}`;
    const back = new Promise((resolve) => (waiting = { id, resolve }));
    const t0 = now();
    out.send(id);
    const t1 = await Promise.race([back, new Promise((r) => setTimeout(() => r(0), 1000))]);
    if (t1) rtts.push(Math.round((t1 - t0) * 1000));
    else lost++;
  }
  waiting = null;
  setHandler(kind, null);
  return { rtts, lost };
}

window.bench = {
  ready: true,
  isolated: () => crossOriginIsolated,
  /** Smallest non-zero step of performance.now() in µs (timer resolution). */
  timerStepUs() {
    let best = Infinity;
    for (let i = 0; i < 50; i++) {
      const a = performance.now();
      let b = a;
      while (b === a) b = performance.now();
      best = Math.min(best, b - a);
    }
    return Math.round(best * 1000 * 10) / 10;
  },
  elSetup,
  elConnect,
  elTeardown,
  rawConnect,
  rawSignal,
  rawTeardown,
  armReceive,
  throughput,
  armEcho,
  pingPong,
};

// ---- figure 8: a player as they live it --------------------------------------------------

/**
 * The drop-in with `auto-connect`, timed from attaching the element to `peer-open`: room
 * creation (host) or join (guest) included. The host hands its codes to the other page
 * through window.benchRoom (a Playwright binding) the moment `room-created` fires, as a
 * player's share link would, only faster.
 */
async function elAuto({ baseUrl, role, code, joinCode, limitMs }) {
  elTeardown();
  await customElements.whenDefined("registry-peer");
  const el = document.createElement("registry-peer");
  el.setAttribute("base-url", baseUrl);
  el.setAttribute("unreliable", "");
  el.setAttribute("auto-connect", "");
  el.role = role;
  if (code) el.setAttribute("code", code);
  if (joinCode) el.setAttribute("join-code", joinCode);
  if (role === "host") el.addEventListener("room-created", (e) => window.benchRoom({ code: e.detail.code, joinCode: e.detail.joinCode }), { once: true });
  const errors = [];
  el.addEventListener("peer-error", (e) => errors.push(e.detail.code));
  const opened = new Promise((resolve) => el.addEventListener("peer-open", () => resolve(now()), { once: true }));
  state.el = el;
  const start = now();
  document.body.append(el);
  const stuck = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`timeout: element peer-open (${role}: phase ${el.phase}, errors [${errors.join(", ")}])`)), limitMs),
  );
  return Promise.race([opened.then((open) => ({ start, open })), stuck]);
}

window.bench.elAuto = elAuto;
