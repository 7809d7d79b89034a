/**
 * The control channel (docs/protocol.md, Control channel): a pre-negotiated, unreliable
 * DataChannel (id HEARTBEAT.id) on which each side sends one small heartbeat per interval and a
 * "bye" when it closes. A peer whose heartbeats stop is noticed within silenceMs + intervalMs
 * (renderer crash, lid closed, link cut), long before ICE or SCTP give up. It is relied on only
 * once the other side has sent one: a peer without it (another client) is never taken for gone.
 */
import { CONTROL_BYE, encodeBeat, parseControl } from "../protocol/control.ts";
import { lossOf } from "./stats.ts";
import type { TimerScope } from "./timers.ts";

export const HEARTBEAT = {
  /** SCTP stream id: far above the ids browsers assign to the app's channels (0, 1, 2, …). */
  id: 1001,
  label: "registry-peer-control",
  /** One heartbeat per interval, never more (rate limit). */
  intervalMs: 500,
  /** Nothing heard for this long (from a peer that did send heartbeats): it is unresponsive. */
  silenceMs: 2000,
} as const;

export interface HeartbeatHooks {
  /** Nothing heard for silenceMs from a peer that used to answer. */
  silent(): void;
  /** Heard again after silent(). */
  heard(): void;
  /** The peer said it is closing. */
  bye(): void;
  /** Messages we received on the unreliable channel (sent in each heartbeat, for its loss figure). */
  unreliableReceived(): number;
  /** Messages we sent on the unreliable channel. */
  unreliableSent(): number;
}

export class Heartbeat {
  readonly #dc: RTCDataChannel;
  readonly #timers: TimerScope;
  readonly #now: () => number;
  readonly #h: HeartbeatHooks;
  readonly #removers: (() => void)[] = [];
  #tick: number | undefined;
  #seq = 0;
  /** The peer has sent at least one heartbeat: only then is its silence meaningful. */
  answered = false;
  #lastHeard = 0;
  #silent = false;
  /** Our unreliable sends when the previous heartbeat arrived (all arrived or lost by the next one). */
  #sentAtLastHeard = 0;
  /** Loss on the unreliable channel as of the latest heartbeat (stats.ts lossOf); null until known. */
  unreliableLoss: number | null = null;

  constructor(dc: RTCDataChannel, timers: TimerScope, nowMs: () => number, hooks: HeartbeatHooks) {
    this.#dc = dc;
    this.#timers = timers;
    this.#now = nowMs;
    this.#h = hooks;
    const on = (type: string, fn: (e: Event) => void) => {
      dc.addEventListener(type, fn);
      this.#removers.push(() => dc.removeEventListener(type, fn));
    };
    on("message", (e) => this.#onMessage((e as MessageEvent).data));
    // The first beat goes as soon as the channel opens: a peer that vanishes right after open is
    // then judged by its heartbeats too (before its first one arrives, only ICE would notice).
    // (Made before the association was up, it may be open already.)
    if (dc.readyState === "open") this.#send(this.#beatMessage());
    else on("open", () => this.#send(this.#beatMessage()));
    this.#schedule();
  }

  get silent(): boolean {
    return this.#silent;
  }

  #schedule(): void {
    this.#tick = this.#timers.set(() => this.#beat(), HEARTBEAT.intervalMs);
  }

  #beat(): void {
    this.#send(this.#beatMessage());
    if (this.answered && !this.#silent && this.#now() - this.#lastHeard > HEARTBEAT.silenceMs) {
      this.#silent = true;
      this.#h.silent();
    }
    this.#schedule();
  }

  #beatMessage(): string {
    return encodeBeat(++this.#seq, this.#h.unreliableReceived());
  }

  #send(msg: string): void {
    if (this.#dc.readyState !== "open") return;
    try {
      this.#dc.send(msg);
    } catch {
      // A full or closing channel: the next beat tries again; silence is judged on what arrives.
    }
  }

  #onMessage(data: unknown): void {
    const m = parseControl(data);
    if (m === null) return;
    if (m === "bye") {
      this.#h.bye();
      return;
    }
    this.answered = true;
    this.#lastHeard = this.#now();
    this.unreliableLoss = lossOf(this.#sentAtLastHeard, m.u);
    this.#sentAtLastHeard = this.#h.unreliableSent();
    if (this.#silent) {
      this.#silent = false;
      this.#h.heard();
    }
  }

  /** Tells the peer we are closing (best effort), then stops. */
  bye(): void {
    this.#send(CONTROL_BYE);
    this.stop();
  }

  stop(): void {
    this.#timers.cancel(this.#tick);
    for (const r of this.#removers.splice(0)) r();
    this.#dc.close();
  }
}
