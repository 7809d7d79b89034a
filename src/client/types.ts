/**
 * Public types of RegistryClient (a stable API: names and shapes only grow by optional fields,
 * marked `(ext)`). Wire bodies are re-exported from src/protocol.
 */
export interface RegistryClientOptions {
  baseUrl: string; // e.g., "https://registry.example.com"
  allowedOrigin?: string; // for CORS preflight alignment
  fetchImpl: (input: RequestInfo, init?: RequestInit) => Promise<Response>;
  nowMs: () => number;        // time source
  setTimeoutImpl: (fn: () => void, ms: number) => any;
  clearTimeoutImpl: (t: any) => void;
  randomBytes: (len: number) => Uint8Array; // for local ids, not server tokens
  // WebRTC
  createPeerConnection: (cfg: RTCConfiguration) => RTCPeerConnection;
  rtcConfiguration: RTCConfiguration; // iceServers injected here
  // App policy
  iceDrainIntervalMs?: number;     // default 1000..1500ms (jittered)
  roomPollIntervalMs?: number;     // default 1000ms (post-offer until paired)
  maxCandidatesPerPeer?: number;   // default 40 (mirror server cap)
  csrfHeaderName?: string;         // default "X-Registry-Version"
  csrfHeaderValue?: string;        // default "1"
  userAgent?: string;              // optional UA header string
  // (ext) send() returns false while the channel's bufferedAmount is above this; default 262144 (256 KiB)
  backpressureThreshold?: number;
  // (ext) the "drained" notification (onDrain) fires when bufferedAmount falls to this; default threshold / 4
  bufferedAmountLowThreshold?: number;
  // (ext) opt-in redacted telemetry: sizes and latencies only, never tokens, SDP or candidates
  telemetry?: (ev: TelemetryEvent) => void;
  // (ext) client-side bound for the offer→answer wait, default 60000 ms
  answerTimeoutMs?: number;
  // (ext) grace after ICE "disconnected" before restarting ICE (host) / giving up; default 5000 ms
  disconnectGraceMs?: number;
}

/** (ext) Telemetry event: redacted, sizes and latencies only. */
export interface TelemetryEvent {
  type: "phase_change" | "request" | "response" | "retry" | "pc_state" | "dc_open" | "dc_close";
  at: number;
  phase?: ClientPhase;
  method?: string;
  route?: string;        // e.g. "/rooms/:code/offer", never the code itself
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
export interface JoinRoomInput { code: string; joinCode: string; guestUserName: string; }

// The wire shapes live in src/protocol (docs/protocol.md, Endpoints).
export type {
  CreateRoomResult, JoinRoomResult, PublicRoomInfo, OfferBody, AnswerBody, RoomSnapshot, Candidate as CandidateBody,
} from "../protocol/index.ts";
import type { Candidate as CandidateBody } from "../protocol/index.ts";

export interface DataChannelPolicy {
  label?: string;               // default "data"
  ordered?: boolean;            // default true (reliable)
  maxRetransmits?: number;      // optional for unreliable
  negotiated?: boolean;         // default false; if true, requires id
  id?: number;                  // optional if negotiated
}

export interface ConnectOptions {
  role: Role;
  code: string;
  accessToken: string;   // ownerToken or guestToken from Registry
  userName?: string;     // for client UI / logs (never sent in headers)
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
  onCandidateLocal?(c: CandidateBody): void;    // after validation & dedupe
  onCandidateRemote?(c: CandidateBody): void;
  onOpen?(): void;         // DataChannel open
  onClose?(why?: string): void;
  onError?(err: Error): void;
  // (ext) a packet arrived on either channel (binaryType is "arraybuffer")
  onMessage?(data: ArrayBuffer | string, info: { reliable: boolean }): void;
  // (ext) bufferedAmount fell to bufferedAmountLowThreshold after send() had returned false
  onDrain?(): void;
}


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
    localCandidates: Set<string>;   // dedupe key
    remoteCandidates: Set<string>;  // dedupe key
  };
  lastError?: { code: string; message: string; retryable?: boolean; retryAfterSec?: number };
  lastTransitionAt: number;
}
