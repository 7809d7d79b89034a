/**
 * Public types of RegistryClient (a stable API: names and shapes only grow by optional fields,
 * marked `(ext)`). Wire bodies are re-exported from src/protocol.
 */
export interface RegistryClientOptions {
  baseUrl: string; // e.g., "https://registry.example.com"
  allowedOrigin?: string; // for CORS preflight alignment
  fetchImpl: (input: RequestInfo, init?: RequestInit) => Promise<Response>;
  nowMs: () => number; // time source
  // biome-ignore lint/suspicious/noExplicitAny: a timer handle is whatever the injected setTimeout returns (number, Timeout)
  setTimeoutImpl: (fn: () => void, ms: number) => any;
  // biome-ignore lint/suspicious/noExplicitAny: the same handle, given back
  clearTimeoutImpl: (t: any) => void;
  randomBytes: (len: number) => Uint8Array; // for local ids, not server tokens
  // WebRTC
  createPeerConnection: (cfg: RTCConfiguration) => RTCPeerConnection;
  rtcConfiguration: RTCConfiguration; // iceServers injected here
  // App policy
  iceDrainIntervalMs?: number; // default 1000..1500ms (jittered)
  roomPollIntervalMs?: number; // default 1000ms (post-offer until paired)
  maxCandidatesPerPeer?: number; // default 40 (mirror server cap)
  csrfHeaderName?: string; // default "X-Registry-Version"
  csrfHeaderValue?: string; // default "1"
  userAgent?: string; // optional UA header string
  // (ext) send() returns false while the channel's bufferedAmount is above this; default 262144 (256 KiB)
  backpressureThreshold?: number;
  // (ext) the "drained" notification (onDrain) fires when bufferedAmount falls to this; default threshold / 4
  bufferedAmountLowThreshold?: number;
  // (ext) opt-in redacted telemetry: sizes and latencies only, never tokens, SDP or candidates
  telemetry?: (ev: TelemetryEvent) => void;
  // (ext) client-side bound for the offer→answer wait, default 60000 ms
  answerTimeoutMs?: number;
  // (ext) grace after ICE "disconnected" (or a silent peer) before the host restarts ICE; default 2000 ms
  disconnectGraceMs?: number;
  // (ext) a recovery that has not succeeded this long after trouble was noticed ends the session; default 45000 ms
  reconnectWindowMs?: number;
  // (ext) onStats every this many ms while the connection is up; 0 = off; default 2000 ms
  statsIntervalMs?: number;
  // (ext) the browser's online/offline state (browserDefaults: window's events); none = always online
  network?: NetworkWatch;
  // (ext) bound for ICE to connect once both descriptions are set, default 10000 ms: one ICE
  // restart at half of it, then ConnectionFailedError (code "connection_failed")
  connectTimeoutMs?: number;
  // (ext) wall-clock time (ms since the epoch), to compare with the Registry's iceExpiresAt;
  // default nowMs (which in the browser is performance.now(), not the wall clock)
  wallClockMs?: () => number;
  // (ext) relay-only: iceTransportPolicy "relay" (only TURN relay candidates); fails at once with
  // ConnectionFailedError when no relay (TURN server with credentials) is offered
  relayOnly?: boolean;
}

/** (ext) Online/offline state and its changes (injected: the client touches no window). */
export interface NetworkWatch {
  online(): boolean;
  /** Calls back on every change; returns the function that removes the listeners. */
  listen(onChange: (online: boolean) => void): () => void;
}

/**
 * (ext) Why a recovery started: ICE reported the path "disconnected" or "failed", or the peer's
 * heartbeats stopped ("peer_unresponsive").
 */
export type ReconnectReason = "disconnected" | "failed" | "peer_unresponsive";

export type { ConnectionStats, ChannelStats, Quality } from "./stats.ts";
import type { ConnectionStats } from "./stats.ts";

/** (ext) Telemetry event: redacted, sizes and latencies only. */
export interface TelemetryEvent {
  type: "phase_change" | "request" | "response" | "retry" | "pc_state" | "dc_open" | "dc_close";
  at: number;
  phase?: ClientPhase;
  method?: string;
  route?: string; // e.g. "/rooms/:code/offer", never the code itself
  status?: number;
  bytes?: number;
  latencyMs?: number;
  attempt?: number;
  delayMs?: number;
  state?: string;
  label?: string;
}

export type Role = "host" | "guest";

export interface CreateRoomInput {
  hostUserName: string;
  /**
   * (ext `fast`) The channels of the connect() that follows: the connection is made now and its
   * offer goes with the room (a round trip less). connect() then uses these channels.
   */
  prepare?: Pick<ConnectOptions, "dataChannel" | "unreliable">;
}
export interface JoinRoomInput {
  code: string;
  joinCode: string;
  guestUserName: string;
  /** (ext `fast`) The channels of the connect() that follows: the connection is made while the join travels. */
  prepare?: Pick<ConnectOptions, "dataChannel" | "unreliable">;
}

// The wire shapes live in src/protocol (docs/protocol.md, Endpoints).
export type {
  CreateRoomResult,
  JoinRoomResult,
  PublicRoomInfo,
  OfferBody,
  AnswerBody,
  RoomSnapshot,
  Candidate as CandidateBody,
} from "../protocol/index.ts";
import type { Candidate as CandidateBody } from "../protocol/index.ts";

export interface DataChannelPolicy {
  label?: string; // default "data"
  ordered?: boolean; // default true (reliable)
  maxRetransmits?: number; // optional for unreliable
  negotiated?: boolean; // default false; if true, requires id
  id?: number; // optional if negotiated
}

export interface ConnectOptions {
  role: Role;
  code: string;
  accessToken: string; // ownerToken or guestToken from Registry
  userName?: string; // for client UI / logs (never sent in headers)
  dataChannel?: DataChannelPolicy;
  // (ext) also open a second, unreliable channel; true means
  // { label: "unreliable", ordered: false, maxRetransmits: 0 }
  unreliable?: boolean | DataChannelPolicy;
}

export interface SendPacketOptions {
  reliable?: boolean; // if module offers dual channels
}

export interface RegistryClientEvents {
  onStateChange?(s: ClientState): void;
  onPeerConnection?(pc: RTCPeerConnection): void;
  onDataChannel?(dc: RTCDataChannel): void;
  onIceGatheringStateChange?(state: RTCIceGatheringState): void;
  onIceConnectionStateChange?(state: RTCPeerConnectionState): void;
  onCandidateLocal?(c: CandidateBody): void; // after validation & dedupe
  onCandidateRemote?(c: CandidateBody): void;
  onOpen?(info?: OpenInfo): void; // DataChannel open; (ext) info.route: the route taken
  onClose?(why?: string): void;
  onError?(err: Error): void;
  // (ext) a packet arrived on either channel (binaryType is "arraybuffer")
  onMessage?(data: ArrayBuffer | string, info: { reliable: boolean }): void;
  // (ext) bufferedAmount fell to bufferedAmountLowThreshold after send() had returned false
  onDrain?(): void;
  // (ext) the open connection is in trouble and being recovered (packets sent meanwhile are buffered)
  onReconnecting?(info: { reason: ReconnectReason }): void;
  // (ext) recovered; `afterMs` since onReconnecting
  onReconnected?(info: { afterMs: number }): void;
  // (ext) live quality every statsIntervalMs while the connection is up
  onStats?(stats: ConnectionStats): void;
}

/** (ext) What onOpen tells. */
export interface OpenInfo {
  /** The selected ICE candidate pair, or null when the browser did not say (in time). */
  route: IceRoute | null;
}
export type { IceRoute, CandidateType } from "./route.ts";
import type { IceRoute } from "./route.ts";

export type ClientPhase =
  | "idle"
  | "creating_room"
  | "waiting_guest"
  | "joining_room"
  | "posting_offer"
  | "posting_answer"
  | "polling_room"
  | "draining_ice"
  | "connecting_rtc"
  | "open"
  | "closing"
  | "closed"
  | "error";

export interface ClientState {
  role?: Role;
  code?: string;
  accessToken?: string;
  phase: ClientPhase;
  rtc?: {
    pc?: RTCPeerConnection;
    dc?: RTCDataChannel;
    unreliableDc?: RTCDataChannel; // (ext)
    localCandidates: Set<string>; // dedupe key
    remoteCandidates: Set<string>; // dedupe key
  };
  lastError?: { code: string; message: string; retryable?: boolean; retryAfterSec?: number };
  lastTransitionAt: number;
}
