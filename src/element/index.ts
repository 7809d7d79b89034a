/** The `<registry-peer>` element (defines the custom element on import), its event types and UI strings. */
export * from "./registry-peer.ts";
export { parseShare, buildShareUrl, type ShareCodes } from "./share.ts";
export { describeError, ERROR_TEXT, type ErrorText, type RecoveryAction } from "./messages.ts";
export { DEFAULT_STRINGS, type RegistryPeerStrings, type RegistryPeerStringsInit } from "./strings.ts";
