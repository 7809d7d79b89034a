/** Public exports of the client module. */
export { RegistryClient, CLIENT_DEFAULTS } from "./client.ts";
export * from "./errors.ts";
export * from "./types.ts";
export { browserDefaults } from "./browser.ts";
export { reduce, initialState, canApply, TRANSITIONS, TERMINAL, type Action } from "./state.ts";
export { backoffDelay, rateLimitDelay, BACKOFF } from "./backoff.ts";
// Code helpers for UIs (the same ones the server uses).
export { formatJoinCode, normalizeJoinCode, normalizeRoomCode, isRoomCode } from "../protocol/index.ts";
