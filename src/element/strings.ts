/**
 * Every text the built-in UI shows, in English by default. A page replaces any of them through
 * the element's `strings` property (a partial object, merged over these); error texts by code
 * under `errors`. Functions build the texts that carry a value.
 */
import type { ClientErrorCode } from "../client/errors.ts";
import { ERROR_TEXT } from "./messages.ts";

export interface RegistryPeerStrings {
  // Forms
  nameLabel: string;
  roomCodeLabel: string;
  joinCodeLabel: string;
  hostNamePlaceholder: string;
  guestNamePlaceholder: string;
  createRoom: string;
  joinRoom: string;
  hostIdle: string;
  guestIdle: string;
  badName: string;
  badRoomCode: string;
  badJoinCode: string;
  // Host's room
  roomCode: string;
  joinCode: string;
  shareLink: string;
  copyLink: string;
  shareHint: string;
  linkCopied: string;
  pressToCopy: string;
  cancel: string;
  // Progress
  creating: string;
  waitingGuest: string;
  joining: string;
  connecting: string;
  busyRegistry: string;
  retryingTrouble: string;
  retryingIn: (seconds: number) => string;
  // Connected and after
  connected: string;
  connectedTo: (name: string) => string;
  leave: string;
  closing: string;
  closed: string;
  /** While an open connection is recovered (ICE trouble; the other player stopped responding). */
  reconnecting: string;
  waitingForPeer: string;
  /** After a close, by its reason: the other player left / stopped responding / this device lost the connection. */
  peerLeft: string;
  peerGone: string;
  connectionLost: string;
  /** The Registry closed the room when its time ran out (closeReason "expired"): host, guest. */
  roomExpired: string;
  roomExpiredGuest: string;
  newRoom: string;
  joinAnother: string;
  // Errors
  tryAgain: string;
  tryAgainIn: (seconds: number) => string;
  /** Appended to the rate-limit message while the countdown runs. */
  waitFor: (seconds: number) => string;
  startOver: string;
  /** The message for each error code (also `peer-error`'s `message`). */
  errors: Record<ClientErrorCode, string>;
  // Setup mistakes (code "config"): the page's author reads these, in the UI and (in English) in
  // the console; each names the attribute and the fix.
  configNoBaseUrl: string;
  configBadBaseUrl: string;
  configNotRegistry: string;
  configOrigin: string;
  configRole: string;
  configIceServers: string;
}

/** A page's replacements: any subset, `errors` by code. */
export type RegistryPeerStringsInit = Partial<Omit<RegistryPeerStrings, "errors">> & {
  errors?: Partial<Record<ClientErrorCode, string>>;
};

export const DEFAULT_STRINGS: RegistryPeerStrings = {
  nameLabel: "Your name",
  roomCodeLabel: "Room code",
  joinCodeLabel: "Join code or link",
  hostNamePlaceholder: "Alice",
  guestNamePlaceholder: "Bob",
  createRoom: "Create room",
  joinRoom: "Join room",
  hostIdle: "Create a room, then send its link to the other player.",
  guestIdle: "Enter the codes the host sent you, or open their link.",
  badName: "Enter a name of 1 to 32 characters.",
  badRoomCode: "A room code has 6 letters and digits, like K7M2QX.",
  badJoinCode: "A join code has 8 letters and digits, like ABCD-1234, or paste the share link.",
  roomCode: "Room code",
  joinCode: "Join code",
  shareLink: "Share link",
  copyLink: "Copy link",
  shareHint: "Send the link (or both codes) to the other player.",
  linkCopied: "Link copied.",
  pressToCopy: "Press Ctrl+C (or ⌘C) to copy the selected link.",
  cancel: "Cancel",
  creating: "Creating a room…",
  waitingGuest: "Waiting for the guest to join…",
  joining: "Joining the room…",
  connecting: "Connecting…",
  busyRegistry: "The Registry is busy.",
  retryingTrouble: "Connection trouble, retrying…",
  retryingIn: (s) => `Retrying in ${s} s…`,
  connected: "Connected.",
  connectedTo: (name) => `Connected to ${name}.`,
  leave: "Leave",
  closing: "Closing…",
  closed: "The connection is closed.",
  reconnecting: "Connection interrupted. Reconnecting…",
  waitingForPeer: "The other player stopped responding. Waiting for them…",
  peerLeft: "The other player left.",
  peerGone: "The other player stopped responding: their page closed or lost its network.",
  connectionLost: "The connection was lost: this device could not reach the other player or the Registry.",
  roomExpired: "The room expired: nobody joined in time. Make a new room to play.",
  roomExpiredGuest: "The room expired before you two were connected. Ask the host for a new link.",
  newRoom: "New room",
  joinAnother: "Join another room",
  tryAgain: "Try again",
  tryAgainIn: (s) => `Try again in ${s} s`,
  waitFor: (s) => `Try again in ${s} s.`,
  startOver: "Start over",
  errors: Object.fromEntries(Object.entries(ERROR_TEXT).map(([k, v]) => [k, v.message])) as Record<
    ClientErrorCode,
    string
  >,
  configNoBaseUrl:
    'The attribute base-url is missing: set it to the Registry\'s URL, e.g. base-url="https://registry.example.com".',
  configBadBaseUrl:
    "The attribute base-url is not a full http(s) URL: write the scheme too, e.g. https://registry.example.com.",
  configNotRegistry:
    "The address in base-url does not point to a Registry (it did not answer like one): check its host, port and path.",
  configOrigin: "The Registry does not allow this page's origin: add it to the Registry's ALLOWED_ORIGINS.",
  configRole: 'The attribute role must be "host" or "guest", or absent (then the URL fragment decides).',
  configIceServers: 'The attribute ice-servers is not a JSON array, e.g. [{"urls":"stun:stun.example.com"}].',
};

/** `init` merged over the defaults (errors by code). */
export function mergeStrings(init: RegistryPeerStringsInit | undefined): RegistryPeerStrings {
  if (!init) return DEFAULT_STRINGS;
  return { ...DEFAULT_STRINGS, ...init, errors: { ...DEFAULT_STRINGS.errors, ...init.errors } } as RegistryPeerStrings;
}
