/** The shapes the element's session controller shares with the element and the views. */
import type { ReactiveControllerHost } from "lit";
import type { RegistryClient } from "../../client/client.ts";
import type { RegistryClientOptions, Role } from "../../client/types.ts";
import type { PeerErrorDetail } from "../events.ts";
import type { RegistryPeerStringsInit } from "../strings.ts";

export type Op = "create" | "join" | "connect";

/** What the controller reads from the element (its attributes and properties). */
export interface SessionHost extends ReactiveControllerHost, EventTarget {
  readonly isConnected: boolean;
  baseUrl: string | undefined;
  /** Set by createRoom() (the host's codes are outputs). */
  roomCode: string | undefined;
  joinCode: string | undefined;
  unreliable: boolean;
  debug: boolean;
  /** The page's replacements for the UI's texts. */
  readonly strings: RegistryPeerStringsInit | undefined;
  backpressureThreshold: number | undefined;
  /** Milliseconds between `stats` events (attribute `stats-interval`). */
  statsInterval: number | undefined;
  relayOnly: boolean;
  connectTimeout: number | undefined;
  clientOptions: Partial<RegistryClientOptions> | undefined;
  readonly rtcConfiguration: RTCConfiguration;
}

/** The room a session is in: from createRoom()/join(), handed to every client of the session. */
export interface Room {
  code: string;
  joinCode: string;
  /** ownerToken or guestToken; absent until the create/join request succeeded. */
  token?: string;
  expiresAt?: number;
}

export interface Session {
  client: RegistryClient;
  readonly role: Role;
  /** The base-url it was made for: a different one ends the session. */
  readonly baseUrl: string;
  readonly userName: string;
  room?: Room;
  /** The channels opened once: the session is over when its client ends. */
  opened?: boolean;
  /** close() was called: the next connect() starts a new session. */
  ended?: boolean;
  /** peer-close was fired (once per session). */
  peerClosed?: boolean;
  /** The running (or finished) connect(). */
  connecting?: Promise<void>;
}

export interface UiError extends PeerErrorDetail {
  op: Op;
}
