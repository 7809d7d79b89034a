/**
 * The RTC side of one session: the connection and its channels (rtc.ts) with their events wired
 * to the handshake parts, the control channel (heartbeat.ts) and the quality loop (stats.ts).
 * Owns what only the connection touches: whether the channels ever opened, the packets held
 * while onOpen waits for the route, and the counters the heartbeat and stats read.
 */
import type { Connectivity } from "./connectivity.ts";
import type { Ctx } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import type { Drain } from "./drain.ts";
import { ChannelMismatchError, RegistryError } from "./errors.ts";
import { HEARTBEAT, Heartbeat } from "./heartbeat.ts";
import { END, type RemoteCandidates } from "./ice.ts";
import type { Publisher } from "./publisher.ts";
import type { Recovery } from "./recovery.ts";
import { RtcSession, channelSpecs } from "./rtc.ts";
import { JITTER0, readStats, type ConnectionStats } from "./stats.ts";
import { canApply } from "./state.ts";
import type { CandidateBody, ClientState, ConnectOptions, TelemetryEvent } from "./types.ts";

export type ChannelOptions = Pick<ConnectOptions, "dataChannel" | "unreliable">;

/** The client's parts and state the session reads (the parts are made before it). */
export interface SessionHost {
  state(): ClientState;
  telemetry(e: Omit<TelemetryEvent, "at">): void;
  readonly conn: Connectivity;
  readonly pub: Publisher;
  readonly drain: Drain;
  readonly remote: RemoteCandidates;
  readonly rec: Recovery;
  /** The other side is gone: one onClose (client.ts). */
  peerLeft(why: string): void;
  /** onOpen has been told: connect() resolves. */
  opened(): void;
}

export class Session {
  rtc: RtcSession | undefined;
  hb: Heartbeat | undefined;
  openedOnce = false;
  #jitter = JITTER0;
  #unreliableReceived = 0;
  /** Packets that arrive while onOpen waits for the route: delivered right after it. */
  #held: Array<[ArrayBuffer | string, boolean]> | undefined;
  readonly #ctx: Ctx;
  readonly #h: SessionHost;

  constructor(ctx: Ctx, host: SessionHost) {
    this.#ctx = ctx;
    this.#h = host;
  }

  /**
   * (ext) Live quality of the open connection (README, Connection quality); null before it
   * opened and after it ended.
   */
  async getStats(): Promise<ConnectionStats | null> {
    const rtc = this.rtc;
    if (!rtc || !this.openedOnce || this.#ctx.signal.aborted) return null;
    const report = await rtc.pc.getStats();
    const ids = { reliable: rtc.channels.get("reliable")?.id, unreliable: rtc.channels.get("unreliable")?.id };
    const extra = {
      at: this.#ctx.o.nowMs(),
      reconnecting: this.#h.rec.recovering,
      unreliableLoss: this.hb?.unreliableLoss ?? null,
    };
    const { stats, jitter } = readStats(report, ids, this.#jitter, extra);
    this.#jitter = jitter;
    return stats;
  }

  /** createRoom/joinRoom's `prepare`: the connection, and the channels its side creates (kept for a retry). */
  prepare(ch: ChannelOptions, host: boolean): RtcSession {
    const rtc = this.rtc ?? this.make(ch);
    if (rtc.channels.size === 0 && (host || rtc.negotiated)) rtc.createChannels();
    return rtc;
  }

  /** The connection and its listeners (no channels yet); made by connect(), or earlier by createRoom/joinRoom's `prepare`. */
  make(ch: ChannelOptions): RtcSession {
    const { o, timers } = this.#ctx;
    const h = this.#h;
    // Made before the create answer (prepare), it has the page's servers only: connectivity.ts
    // sets the Registry's on it before setLocalDescription, when gathering starts.
    const cfg = h.conn.config();
    const pc = o.createPeerConnection(cfg);
    h.conn.created(cfg);
    const threshold = o.backpressureThreshold ?? CLIENT_DEFAULTS.backpressureThreshold;
    const rtc = new RtcSession(
      pc,
      channelSpecs(ch.dataChannel, ch.unreliable),
      {
        localCandidate: (c) => h.pub.gathered(c, h.state().phase === "open"),
        connectionState: (s) => this.#onConnectionState(s),
        gatheringState: (s) => this.#ctx.emit("onIceGatheringStateChange", s),
        channelsOpen: () => this.channelsOpen(),
        channelClosed: () => h.peerLeft("peer_closed"),
        dataChannel: (dc) => {
          // Channels made before connect() (createRoom's prepare) are told when it starts.
          if (!canApply(h.state(), "rtc")) return;
          this.#ctx.dispatch({
            type: "rtc",
            rtc: { ...h.state().rtc!, dc: rtc.channels.get("reliable"), unreliableDc: rtc.channels.get("unreliable") },
          });
          this.#ctx.emit("onDataChannel", dc);
        },
        // A reliable channel under another label: unless ours follows soon, the pages cannot talk.
        foreignChannel: () =>
          timers.set(() => {
            if (!rtc.channels.has("reliable")) this.#ctx.fail(new ChannelMismatchError(), true);
          }, CLIENT_DEFAULTS.channelWaitMs),
        message: (data, reliable) => {
          if (!reliable) this.#unreliableReceived++;
          if (this.#held) this.#held.push([data, reliable]);
          else this.#ctx.emit("onMessage", data, { reliable });
        },
        drain: () => this.#ctx.emit("onDrain"),
      },
      threshold,
      o.bufferedAmountLowThreshold ?? Math.floor(threshold / 4),
    );
    return (this.rtc = rtc);
  }

  applyRemote(cs: CandidateBody[]): void {
    for (const c of cs) {
      const isEnd = c === END;
      this.rtc!.addCandidate(isEnd ? null : c).catch((err: unknown) => {
        // A candidate the browser refuses (or an end mark it does not take) is not fatal.
        if (!isEnd && !this.#ctx.signal.aborted)
          this.#ctx.emit(
            "onError",
            new RegistryError("bad_candidate", `addIceCandidate failed (${(err as Error).name}).`),
          );
      });
      if (!isEnd) this.#ctx.emit("onCandidateRemote", c);
    }
  }

  /** The answer step finished: their candidates so far go in, and the channels may be open already. */
  answered(cs: CandidateBody[]): void {
    this.applyRemote(cs);
    // The channels may have opened before the answer step finished (not after a restart:
    // they never closed, and a second onOpen would be wrong).
    if (this.rtc!.open && !this.openedOnce) this.channelsOpen();
    // After a restart ICE may never have left "connected" (no event to come): open again now.
    else if (this.openedOnce && this.rtc!.pc.connectionState === "connected") this.#ctx.dispatch({ type: "dc_open" });
  }

  channelsOpen(): void {
    const h = this.#h;
    // Open before the answer step finished: `answered` comes back here.
    if (!canApply(h.state(), "dc_open")) return;
    this.openedOnce = true;
    h.conn.opened();
    this.#ctx.dispatch({ type: "dc_open" });
    // An onStateChange that called close(): no control channel, timer or onOpen after it.
    if (this.#ctx.signal.aborted) return;
    h.telemetry({ type: "dc_open" });
    this.#startHeartbeat(this.rtc!);
    this.#statsLoop();
    // onOpen tells the route (getStats, bounded); packets arriving meanwhile wait for it.
    this.#held = [];
    h.conn.readRoute((route) => {
      if (this.#ctx.signal.aborted) return;
      const held = this.#held!;
      this.#held = undefined;
      this.#ctx.emit("onOpen", { route });
      h.opened();
      for (const [data, reliable] of held) this.#ctx.emit("onMessage", data, { reliable });
    });
    // Late candidates may still help for a short grace, then no more requests.
    if (h.drain.active) {
      const cycle = this.#ctx.has("fast")
        ? CLIENT_DEFAULTS.iceDrainMaxMs
        : (this.#ctx.o.iceDrainIntervalMs ?? CLIENT_DEFAULTS.iceDrainMaxMs);
      this.#ctx.timers.set(() => h.drain.stop(), cycle * CLIENT_DEFAULTS.drainGraceCycles);
    }
  }

  /**
   * The control channel (heartbeat.ts), pre-negotiated (no other offer needed), made once the
   * remote description is being set: after the app's channels (their negotiated ids win) and
   * before the association can carry anything, so the peer's first beat never reaches a stream
   * this side has no channel for (libdatachannel resets such a stream, and the control channel
   * is then dead both ways). Refused (its id taken by one of the app's negotiated channels): no
   * heartbeats, as with a peer without them.
   */
  makeControl(): void {
    const rtc = this.rtc;
    if (!rtc || rtc.control !== undefined) return;
    try {
      rtc.control = rtc.pc.createDataChannel(HEARTBEAT.label, {
        negotiated: true,
        id: HEARTBEAT.id,
        ordered: false,
        maxRetransmits: 0,
      });
    } catch {
      rtc.control = null;
    }
  }

  /** The heartbeat on the control channel. A peer without it never answers, and is then never judged by it. */
  #startHeartbeat(rtc: RtcSession): void {
    this.makeControl();
    const dc = rtc.control;
    if (!dc) return;
    this.hb = new Heartbeat(dc, this.#ctx.timers, this.#ctx.o.nowMs, {
      silent: () => this.#h.rec.trouble("peer_unresponsive"),
      // Heard again: recovered unless ICE itself still reports the path down.
      heard: () => {
        const s = rtc.pc.connectionState;
        if (s !== "disconnected" && s !== "failed") this.#h.rec.recovered();
      },
      bye: () => this.#h.peerLeft("peer_closed"),
      unreliableReceived: () => this.#unreliableReceived,
      unreliableSent: () => rtc.unreliableSent,
    });
  }

  /** onStats every statsIntervalMs while the session lives (0 = never). */
  #statsLoop(): void {
    const ms = this.#ctx.o.statsIntervalMs ?? CLIENT_DEFAULTS.statsIntervalMs;
    if (ms <= 0) return;
    this.#ctx.timers.set(() => {
      this.getStats().then(
        (st) => st && !this.#ctx.signal.aborted && this.#ctx.emit("onStats", st),
        // A getStats() refused by a closing connection: the next tick (if any) tries again.
        () => {},
      );
      this.#statsLoop();
    }, ms);
  }

  #onConnectionState(s: RTCPeerConnectionState): void {
    const h = this.#h;
    h.telemetry({ type: "pc_state", state: s });
    this.#ctx.emit("onIceConnectionStateChange", s);
    if (s === "connected") {
      // Healthy unless the peer's heartbeats stopped (it answers them again when it is back).
      if (!this.hb?.silent) h.rec.recovered();
      h.conn.connected();
      // Back after an ICE restart: the route may have changed.
      if (this.openedOnce) h.conn.readRoute(() => {});
      if (canApply(h.state(), "ice_connected")) this.#ctx.dispatch({ type: "ice_connected" });
      // Back after an ICE restart: the channels never closed, so this is open again (no second onOpen).
      if (this.openedOnce && canApply(h.state(), "dc_open")) this.#ctx.dispatch({ type: "dc_open" });
    } else if (s === "failed" && !this.openedOnce) {
      // ICE gave up before the channels opened: nothing can connect. Said as such, on both sides.
      h.conn.fail();
    } else if (s === "disconnected" || s === "failed") {
      h.rec.trouble(s);
    } else if (s === "closed") {
      h.peerLeft("connection_closed");
    }
  }
}
