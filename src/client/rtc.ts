/**
 * One RTCPeerConnection and its DataChannels (docs/protocol.md, DataChannels): channels created
 * before the offer (host, or both sides when negotiated), binaryType "arraybuffer", backpressure on
 * bufferedAmount, and every listener removable so close() leaves nothing attached.
 */
import { utf8Length } from "../protocol/index.ts";
import type { CandidateBody, DataChannelPolicy } from "./types.ts";

export interface RtcHooks {
  /** A gathered candidate, or null at the end of gathering. */
  localCandidate(c: CandidateBody | null): void;
  connectionState(s: RTCPeerConnectionState): void;
  gatheringState(s: RTCIceGatheringState): void;
  /** Every channel this session expects is open. */
  channelsOpen(): void;
  channelClosed(label: string): void;
  dataChannel(dc: RTCDataChannel): void;
  /** A reliable channel under a label we do not expect, while we have no reliable channel. */
  foreignChannel(): void;
  message(data: ArrayBuffer | string, reliable: boolean): void;
  drain(): void;
}

export interface ChannelSpec {
  label: string;
  init: RTCDataChannelInit;
}

/** Resolves the DataChannelPolicy defaults: reliable "data", optional unreliable "unreliable". */
export function channelSpecs(
  reliable: DataChannelPolicy = {},
  unreliable: boolean | DataChannelPolicy | undefined,
): ChannelSpec[] {
  const spec = (p: DataChannelPolicy, label: string, ordered: boolean, maxRetransmits?: number): ChannelSpec => {
    const init: RTCDataChannelInit = { ordered: p.ordered ?? ordered };
    const mr = p.maxRetransmits ?? maxRetransmits;
    if (mr !== undefined) init.maxRetransmits = mr;
    if (p.negotiated) {
      init.negotiated = true;
      init.id = p.id ?? (label === "unreliable" ? 1 : 0);
    }
    return { label: p.label ?? label, init };
  };
  const out = [spec(reliable, "data", true)];
  if (unreliable) out.push(spec(unreliable === true ? {} : unreliable, "unreliable", false, 0));
  return out;
}

export class RtcSession {
  readonly channels = new Map<"reliable" | "unreliable", RTCDataChannel>();
  readonly pc: RTCPeerConnection;
  readonly #removers: (() => void)[] = [];
  #refused = false;
  #openNotified = false;
  /** Messages sent on the unreliable channel (for its loss figure). */
  unreliableSent = 0;
  /** The control channel (session.ts): undefined until made, null when the browser refused it. */
  control: RTCDataChannel | null | undefined;
  /** We created the channels (host, or negotiated): then we wait for all of them to open. */
  #creator = false;
  readonly #specs: ChannelSpec[];
  readonly #hooks: RtcHooks;
  readonly #backpressureThreshold: number;
  readonly #lowThreshold: number;

  constructor(
    pc: RTCPeerConnection,
    specs: ChannelSpec[],
    hooks: RtcHooks,
    backpressureThreshold: number,
    lowThreshold: number,
  ) {
    this.pc = pc;
    this.#specs = specs;
    this.#hooks = hooks;
    this.#backpressureThreshold = backpressureThreshold;
    this.#lowThreshold = lowThreshold;
    this.#listen(pc, "icecandidate", (e) => {
      const c = (e as RTCPeerConnectionIceEvent).candidate;
      hooks.localCandidate(
        c && c.candidate !== "" ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null,
      );
    });
    this.#listen(pc, "connectionstatechange", () => hooks.connectionState(pc.connectionState));
    this.#listen(pc, "icegatheringstatechange", () => hooks.gatheringState(pc.iceGatheringState));
    this.#listen(pc, "datachannel", (e) => {
      const dc = (e as RTCDataChannelEvent).channel;
      // The host decides the unreliable channel: one we did not ask for (or under another label)
      // is still adopted, so neither side's `unreliable` setting can break the connection.
      const kind = this.#kindOf(dc.label) ?? (!dc.ordered || dc.maxRetransmits !== null ? "unreliable" : undefined);
      // Anything else (a duplicate, a reliable channel under an unknown label) is not ours to keep;
      // the client is told of a foreign reliable one, which may mean the pages cannot talk.
      if (kind === undefined && !this.channels.has("reliable")) hooks.foreignChannel();
      if (kind === undefined || this.channels.has(kind)) return dc.close();
      this.#adopt(kind, dc);
    });
  }

  /** Host (or both sides when negotiated): create the channels before the offer/answer. */
  createChannels(): void {
    this.#creator = true;
    this.#specs.forEach((s, i) => {
      this.#adopt(i === 0 ? "reliable" : "unreliable", this.pc.createDataChannel(s.label, s.init));
    });
  }

  /** Every channel this session expects has opened (channelsOpen was called). */
  get open(): boolean {
    return this.#openNotified;
  }

  /** Tells the hooks about a channel made before they were listening (createRoom's prepare). */
  announce(dc: RTCDataChannel): void {
    this.#hooks.dataChannel(dc);
  }

  get negotiated(): boolean {
    return this.#specs[0]!.init.negotiated === true;
  }

  #kindOf(label: string): "reliable" | "unreliable" | undefined {
    const i = this.#specs.findIndex((s) => s.label === label);
    return i === 0 ? "reliable" : i === 1 ? "unreliable" : undefined;
  }

  #adopt(kind: "reliable" | "unreliable", dc: RTCDataChannel): void {
    this.channels.set(kind, dc);
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = this.#lowThreshold;
    const reliable = kind === "reliable";
    this.#listen(dc, "open", () => this.#checkOpen());
    this.#listen(dc, "close", () => this.#hooks.channelClosed(dc.label));
    this.#listen(dc, "message", (e) => this.#hooks.message((e as MessageEvent).data, reliable));
    this.#listen(dc, "bufferedamountlow", () => {
      if (!this.#refused) return;
      this.#refused = false;
      this.#hooks.drain();
    });
    this.#hooks.dataChannel(dc);
    this.#checkOpen();
  }

  /**
   * Open when every channel we created is open. A guest answering non-negotiated channels
   * needs only the reliable one: a host that asked for no unreliable channel must not leave it
   * waiting forever (an unreliable channel announced later is adopted all the same).
   */
  #checkOpen(): void {
    if (this.#openNotified) return;
    const need: ("reliable" | "unreliable")[] =
      this.#creator && this.#specs.length === 2 ? ["reliable", "unreliable"] : ["reliable"];
    for (const k of need) if (this.channels.get(k)?.readyState !== "open") return;
    this.#openNotified = true;
    this.#hooks.channelsOpen();
  }

  /** A new offer set as local description; or (`prepared`) the one makeOffer() made earlier. */
  async createOffer(iceRestart = false, prepared?: string): Promise<string> {
    const offer =
      prepared === undefined
        ? await this.pc.createOffer(iceRestart ? { iceRestart: true } : undefined)
        : { type: "offer" as const, sdp: prepared };
    await this.pc.setLocalDescription(offer);
    return this.pc.localDescription!.sdp;
  }

  /** (ext `fast`) An offer to send with the room, set as local description later (createOffer(false, sdp)). */
  async makeOffer(): Promise<string> {
    return (await this.pc.createOffer()).sdp!;
  }

  async acceptOffer(sdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    return this.pc.localDescription!.sdp;
  }

  async acceptAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** null: the remote side's end-of-candidates. */
  async addCandidate(c: CandidateBody | null): Promise<void> {
    await this.pc.addIceCandidate(c === null ? undefined : c);
  }

  bufferedAmount(): number {
    let n = 0;
    for (const dc of this.channels.values()) n += dc.bufferedAmount;
    return n;
  }

  /** false (and onDrain later) when over the threshold; never lets the browser queue overflow. */
  send(data: ArrayBufferView | ArrayBuffer | string, reliable: boolean): boolean {
    // No unreliable channel configured: reliable carries it (documented).
    // The client only calls this while open, when every channel is open (a closing one ends the session).
    // An unreliable channel not (yet) open: the reliable one carries the packet.
    const u = this.channels.get("unreliable");
    const dc = !reliable && u?.readyState === "open" ? u : this.channels.get("reliable")!;
    const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
    if (dc.bufferedAmount > 0 && dc.bufferedAmount + size > this.#backpressureThreshold) {
      this.#refused = true;
      return false;
    }
    try {
      dc.send(data as ArrayBuffer);
      if (dc === u) this.unreliableSent++;
    } catch (err) {
      // Queue full (OperationError): report as backpressure. Anything else is the caller's bug.
      if (!(err instanceof DOMException) || err.name !== "OperationError") throw err;
      this.#refused = true;
      return false;
    }
    return true;
  }

  #listen(target: EventTarget, type: string, fn: (e: Event) => void): void {
    target.addEventListener(type, fn);
    this.#removers.push(() => target.removeEventListener(type, fn));
  }

  /** Removes every listener, closes channels and the connection. Idempotent. */
  dispose(): void {
    for (const r of this.#removers.splice(0)) r();
    for (const dc of this.channels.values()) dc.close();
    this.control?.close();
    this.pc.close();
  }
}
