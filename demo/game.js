// Star Chase: each player moves a dot; the host decides who caught the star (one authority, so
// the two screens never disagree on the score). Positions are fire-and-forget on the unreliable
// channel with a sequence number, so a late packet never moves a dot backwards.
const W = 480;
const H = 320;
const R = 12;
const SPEED = 180; // px/s
const SEND_HZ = 30;

export class Game {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ sendPosition(p: {x:number,y:number,s:number}): boolean, sendReliable(m: object): boolean,
   *   onScore(mine: number, theirs: number): void }} io
   */
  constructor(canvas, io) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.io = io;
    this.keys = new Set();
    this.me = { x: 80, y: H / 2 };
    this.them = { x: W - 80, y: H / 2, s: -1, seen: false };
    this.star = { x: W / 2, y: H / 2 };
    this.score = { host: 0, guest: 0 };
    this.running = false;
    this.seq = 0;
    this.lastSend = 0;
    this.raf = 0;
    this.pointer = null;
    canvas.addEventListener("keydown", (e) => {
      if (/^(Arrow|Key[WASD]$)/.test(e.code)) {
        this.keys.add(e.code);
        e.preventDefault();
      }
    });
    canvas.addEventListener("keyup", (e) => this.keys.delete(e.code));
    canvas.addEventListener("blur", () => this.keys.clear());
    canvas.addEventListener("pointerdown", (e) => {
      canvas.focus();
      this.pointer = this.toArena(e);
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (this.pointer) this.pointer = this.toArena(e);
    });
    canvas.addEventListener("pointerup", () => (this.pointer = null));
    this.draw();
  }

  toArena(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * W, y: ((e.clientY - r.top) / r.height) * H };
  }

  /** @param {boolean} isHost @param {string} theirName */
  start(isHost, theirName) {
    this.isHost = isHost;
    this.theirName = theirName;
    this.me = { x: isHost ? 80 : W - 80, y: H / 2 };
    this.them = { x: isHost ? W - 80 : 80, y: H / 2, s: -1, seen: false };
    this.score = { host: 0, guest: 0 };
    this.running = true;
    this.last = performance.now();
    if (isHost) this.moveStar();
    this.reportScore();
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  stop() {
    this.running = false;
    cancelAnimationFrame(this.raf);
    this.draw();
  }

  moveStar() {
    this.star = { x: 30 + Math.random() * (W - 60), y: 30 + Math.random() * (H - 60) };
    this.io.sendReliable({ t: "star", star: this.star, score: this.score });
  }

  reportScore() {
    const mine = this.isHost ? this.score.host : this.score.guest;
    const theirs = this.isHost ? this.score.guest : this.score.host;
    this.io.onScore(mine, theirs);
  }

  /** @param {{x:number,y:number,s:number}} m */
  remotePosition(m) {
    if (typeof m.x !== "number" || typeof m.y !== "number" || typeof m.s !== "number") return;
    if (m.s <= this.them.s) return; // reordered or duplicated: keep the newer one
    this.them = { x: clamp(m.x, R, W - R), y: clamp(m.y, R, H - R), s: m.s, seen: true };
  }

  /** @param {any} m */
  reliableMessage(m) {
    if (m.t === "star" && !this.isHost && m.star && m.score) {
      this.star = { x: +m.star.x || 0, y: +m.star.y || 0 };
      this.score = { host: +m.score.host || 0, guest: +m.score.guest || 0 };
      this.reportScore();
    }
  }

  frame(now) {
    if (!this.running) return;
    const dt = Math.min(0.1, (now - this.last) / 1000);
    this.last = now;
    let dx = 0;
    let dy = 0;
    const k = this.keys;
    if (k.has("ArrowLeft") || k.has("KeyA")) dx -= 1;
    if (k.has("ArrowRight") || k.has("KeyD")) dx += 1;
    if (k.has("ArrowUp") || k.has("KeyW")) dy -= 1;
    if (k.has("ArrowDown") || k.has("KeyS")) dy += 1;
    if (this.pointer) {
      const px = this.pointer.x - this.me.x;
      const py = this.pointer.y - this.me.y;
      const d = Math.hypot(px, py);
      if (d > 2) {
        dx = px / d;
        dy = py / d;
      }
    }
    const len = Math.hypot(dx, dy) || 1;
    this.me.x = clamp(this.me.x + (dx / len) * SPEED * dt, R, W - R);
    this.me.y = clamp(this.me.y + (dy / len) * SPEED * dt, R, H - R);
    if (now - this.lastSend > 1000 / SEND_HZ) {
      this.lastSend = now;
      this.io.sendPosition({ x: Math.round(this.me.x), y: Math.round(this.me.y), s: ++this.seq });
    }
    if (this.isHost) {
      const hostHit = Math.hypot(this.me.x - this.star.x, this.me.y - this.star.y) < R * 2;
      const guestHit = this.them.seen && Math.hypot(this.them.x - this.star.x, this.them.y - this.star.y) < R * 2;
      if (hostHit || guestHit) {
        if (hostHit) this.score.host++;
        else this.score.guest++;
        this.moveStar();
        this.reportScore();
      }
    }
    this.draw();
    this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  draw() {
    const c = this.ctx;
    if (!c) return;
    c.fillStyle = "#f3f6fa";
    c.fillRect(0, 0, W, H);
    if (!this.running) {
      c.fillStyle = "#424a53";
      c.font = "16px system-ui, sans-serif";
      c.textAlign = "center";
      c.fillText("Connect to play", W / 2, H / 2);
      return;
    }
    star(c, this.star.x, this.star.y);
    dot(c, this.them.x, this.them.y, this.them.seen ? "#b3261e" : "#c9a6a4", this.theirName);
    dot(c, this.me.x, this.me.y, "#0757c7", "You");
  }
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

function dot(c, x, y, color, label) {
  c.fillStyle = color;
  c.beginPath();
  c.arc(x, y, R, 0, Math.PI * 2);
  c.fill();
  c.fillStyle = "#1b1f24";
  c.font = "12px system-ui, sans-serif";
  c.textAlign = "center";
  // Above the dot, or below it at the top edge.
  c.fillText(label, x, y - R - 4 < 12 ? y + R + 14 : y - R - 4);
}

function star(c, x, y) {
  c.fillStyle = "#b07d00";
  c.beginPath();
  for (let i = 0; i < 10; i++) {
    const r = i % 2 ? 6 : 14;
    const a = (Math.PI / 5) * i - Math.PI / 2;
    c.lineTo(x + Math.cos(a) * r, y + Math.sin(a) * r);
  }
  c.closePath();
  c.fill();
}
