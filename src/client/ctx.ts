/**
 * What the handshake parts (room-watch, publisher, drain, negotiation) get from the client: the
 * injected options, the session's timers and abort signal, Registry calls on this room, and the
 * client's single ways to fail, emit and change phase. The parts keep their own state.
 */
import type { Feature } from "../protocol/index.ts";
import type { Action } from "./state.ts";
import type { TimerScope } from "./timers.ts";
import type { HttpResult, RequestSpec, Transport } from "./transport.ts";
import type { ClientState, RegistryClientEvents, RegistryClientOptions } from "./types.ts";

export type Emit = <K extends keyof RegistryClientEvents>(
  name: K,
  ...args: Parameters<NonNullable<RegistryClientEvents[K]>>
) => void;

export interface Ctx {
  readonly o: RegistryClientOptions;
  readonly timers: TimerScope;
  readonly random: () => number;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  has(f: Feature): boolean;
  /** GET /rooms/:code{suffix}. */
  get(suffix: string, signal: AbortSignal): Promise<HttpResult<unknown>>;
  /** POST /rooms/:code{suffix} with the session's signal, or `signal` (a long-poll that may be stopped alone). */
  post(suffix: string, body: unknown, signal?: AbortSignal): Promise<HttpResult<unknown>>;
  fail(err: unknown, notifyServer?: boolean): void;
  emit: Emit;
  dispatch(a: Action): void;
}

/**
 * Requests on the session's room, `/rooms/:code{suffix}` with its token; all safe to
 * repeat, and retried through an outage until `until()` (unless the spec caps its retries).
 */
export function roomCall(t: Transport, state: () => ClientState, until: () => number) {
  return (
    suffix: string,
    spec: Pick<RequestSpec, "method" | "signal"> & Partial<RequestSpec>,
  ): Promise<HttpResult<unknown>> => {
    const { code, accessToken } = state();
    const retry = spec.maxRetries === undefined ? { until } : {};
    return t.request({
      path: `/rooms/${code}${suffix}`,
      route: `/rooms/:code${suffix}`,
      token: accessToken,
      idempotent: true,
      ...retry,
      ...spec,
    });
  };
}
