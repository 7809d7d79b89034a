/**
 * The client's edges that never throw, and how a failure is named: app callbacks and the
 * telemetry sink are shielded, any failure becomes one RegistryError, /close is best effort, and
 * an outage is waited out only as long as the room can live.
 */
import { LIMITS, TTL_JOINED_SEC } from "../protocol/index.ts";
import type { Connectivity } from "./connectivity.ts";
import type { Emit, roomCall } from "./ctx.ts";
import { CLIENT_DEFAULTS } from "./defaults.ts";
import { ClosedError, RegistryError } from "./errors.ts";
import type {
  ClientState,
  RegistryClientEvents,
  RegistryClientOptions,
  RoomSnapshot,
  TelemetryEvent,
} from "./types.ts";

/** Any failure as a RegistryError; a room the other player closed because nothing could connect is that error here too. */
export function classify(err: unknown, openedOnce: boolean, conn: Connectivity): RegistryError {
  const e =
    err instanceof RegistryError
      ? err
      : new RegistryError("unknown", `WebRTC or internal failure (${err instanceof Error ? err.name : typeof err}).`);
  return e instanceof ClosedError && e.closeReason === "connection_failed" && !openedOnce ? conn.error(true) : e;
}

/** The /close body: the reason, bounded. String(): close() never throws, even for a non-string reason from plain JS. */
export function closeBody(reason: string | undefined): { reason?: string } {
  return reason === undefined ? {} : { reason: String(reason).slice(0, LIMITS.closeReasonChars) };
}

/** App callbacks never break the client: a throw goes to onError (and one from onError is dropped). */
export function emitter(ev: RegistryClientEvents): Emit {
  const emit: Emit = (name, ...args) => {
    const fn = ev[name] as ((...a: unknown[]) => void) | undefined;
    try {
      fn?.apply(ev, args);
    } catch (err) {
      if (name !== "onError") emit("onError", err as Error);
    }
  };
  return emit;
}

/** Telemetry is opt-in and best effort: a throwing sink is ignored. */
export function telemetrySink(o: RegistryClientOptions): (e: Omit<TelemetryEvent, "at">) => void {
  return (e) => {
    try {
      o.telemetry?.({ ...e, at: o.nowMs() });
    } catch {
      /* ignored */
    }
  };
}

/**
 * Until when session requests keep retrying through a Registry outage: the room's lifetime
 * (its TTL in its current state, from the latest snapshot) after the Registry last answered,
 * at most outageMaxMs. A room that expired meanwhile answers 404/410 anyway.
 */
export function outageDeadline(s: RoomSnapshot | null, lastContact: number): number {
  const ttl = s && s.expiresAt > s.updatedAt ? s.expiresAt - s.updatedAt : TTL_JOINED_SEC * 1000;
  return lastContact + Math.min(ttl, CLIENT_DEFAULTS.outageMaxMs);
}

/** POST /close once, best effort, if the session has a room and a token. */
export function postClose(call: ReturnType<typeof roomCall>, state: ClientState, reason: string | undefined): void {
  if (state.code === undefined || state.accessToken === undefined) return;
  // Own controller: the session's is aborted right after. No retries, so no timer outlives
  // close(); keepalive lets it outlive the page (pagehide).
  const signal = new AbortController().signal;
  call("/close", { method: "POST", body: closeBody(reason), signal, maxRetries: 0, keepalive: true }).catch(() => {});
}
