/** The `<registry-peer>` element (defines the custom element on import) and its event types. */
export * from "./registry-peer.ts";
export { parseShare, buildShareUrl, type ShareCodes } from "./share.ts";
export { describeError, ERROR_TEXT, type ErrorText, type RecoveryAction } from "./messages.ts";
