// Star Chase: the demo of <registry-peer>. Plain ES module, no build step: it only talks to the
// element (attributes, send(), events), exactly as any page would.
import { Game } from "./game.js";

const $ = (id) => document.getElementById(id);
const peer = /** @type {any} */ ($("peer"));

// The Registry: what `npm start` wrote into the page, else ?registry=…, else this host on :8787.
const meta = document.querySelector('meta[name="registry-url"]')?.getAttribute("content") ?? "";
const fromQuery = new URLSearchParams(location.search).get("registry");
peer.setAttribute(
  "base-url",
  fromQuery || (meta.startsWith("http") ? meta : `${location.protocol}//${location.hostname}:8787`),
);

const enc = new TextEncoder();
const stats = { sent: 0, recv: 0, positions: 0, lastPps: 0 };
let myName = "";

/** Sends one JSON message; positions go on the unreliable channel. False when not sent. */
function sendMsg(msg, reliable = true) {
  if (peer.phase !== "open") return false;
  const s = JSON.stringify(msg);
  try {
    if (!peer.send(s, { reliable })) return false; // over the backpressure threshold: skip
  } catch {
    return false;
  }
  stats.sent += enc.encode(s).length;
  return true;
}

const game = new Game(/** @type {HTMLCanvasElement} */ ($("arena")), {
  sendPosition: (p) => sendMsg({ t: "pos", ...p }, false),
  sendReliable: (m) => sendMsg(m, true),
  onScore: (mine, theirs) => ($("score").textContent = `Score — you: ${mine}, them: ${theirs}`),
});

// ---- chat ---------------------------------------------------------------------------------------
const log = $("chat-log");
function addLine(who, text) {
  const li = document.createElement("li");
  const b = document.createElement("b");
  b.textContent = `${who}: `;
  li.append(b, text); // text nodes only: chat is untrusted input
  log.append(li);
  while (log.children.length > 200) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}
$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("chat-input"));
  const text = input.value.trim();
  if (!text) return;
  if (sendMsg({ t: "chat", text, from: myName })) {
    addLine("You", text);
    input.value = "";
  }
});

// ---- element events -----------------------------------------------------------------------------
peer.addEventListener("phase-change", (e) => ($("stat-phase").textContent = e.detail.phase));
peer.addEventListener("peer-open", () => {
  // Both names are in the room snapshot the client read while connecting.
  const isHost = peer.state?.role === "host";
  const snap = peer.client?.getRoomSnapshot();
  myName = (isHost ? snap?.hostUserName : snap?.guestUserName) || (isHost ? "Host" : "Guest");
  const theirName = (isHost ? snap?.guestUserName : snap?.hostUserName) || (isHost ? "Guest" : "Host");
  for (const id of ["chat-input", "chat-send"]) $(id).disabled = false;
  game.start(isHost, theirName);
  addLine("•", "Connected. Move with the arrow keys or WASD (click the arena first), or drag.");
});
peer.addEventListener("reconnecting", (e) => addLine("•", `Connection trouble (${e.detail.reason}), reconnecting…`));
peer.addEventListener("reconnected", (e) =>
  addLine("•", `Reconnected after ${(e.detail.afterMs / 1000).toFixed(1)} s.`),
);
peer.addEventListener("peer-close", (e) => {
  for (const id of ["chat-input", "chat-send"]) $(id).disabled = true;
  game.stop();
  addLine("•", `Disconnected (${e.detail.reason}).`);
});
peer.addEventListener("packet", (e) => {
  const { data, reliable } = e.detail;
  stats.recv += typeof data === "string" ? enc.encode(data).length : data.byteLength;
  if (typeof data !== "string") return;
  let m;
  try {
    m = JSON.parse(data);
  } catch {
    return; // not ours (the e2e test sends its own packets too)
  }
  if (!m || typeof m !== "object") return;
  switch (m.t) {
    case "pos":
      if (!reliable) {
        stats.positions++;
        game.remotePosition(m);
      }
      break;
    case "chat":
      if (typeof m.text === "string") addLine(String(m.from || "Them").slice(0, 32), m.text.slice(0, 500));
      break;
    default:
      game.reliableMessage(m);
  }
});

// ---- stats --------------------------------------------------------------------------------------
// Connection quality comes from the element's `stats` event (every 2 s by default): RTT and jitter
// of the ICE path, loss on the unreliable channel, the route and a rating. Byte counts are the
// demo's own (JSON it sent and received), positions/s and the send buffer are read every second.
const fmtBytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(2)} MiB`;
const ms = (x) => (x === null || x === undefined ? "–" : `${x.toFixed(1)} ms`);
peer.addEventListener("stats", (e) => {
  const s = e.detail;
  $("stat-rtt").textContent = ms(s.rttMs);
  $("stat-jitter").textContent = ms(s.jitterMs);
  $("stat-loss").textContent = s.unreliableLoss === null ? "–" : `${(s.unreliableLoss * 100).toFixed(1)} %`;
  $("stat-route").textContent = s.route
    ? `${s.route.localType} ↔ ${s.route.remoteType} (${s.route.protocol}${s.route.relayed ? ", relayed" : ""})`
    : "–";
  $("stat-quality").textContent = s.quality;
});
setInterval(() => {
  $("stat-sent").textContent = fmtBytes(stats.sent);
  $("stat-recv").textContent = fmtBytes(stats.recv);
  $("stat-pps").textContent = String(stats.positions);
  $("stat-buf").textContent = fmtBytes(peer.bufferedAmount ?? 0);
  stats.positions = 0;
}, 1000);
