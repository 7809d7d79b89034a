/**
 * HTTP to the Registry through the injected fetch (docs/protocol.md, Requests and Errors):
 * JSON bodies, X-Access-Token when given, X-Registry-Version on every POST, error envelope →
 * typed error, 429 backoff honouring retryAfterSec, 5xx/network retry with backoff, and the
 * X-Registry-Features header remembered from every response. (ext `fast`) POSTs go in the simple
 * form (text/plain, version and token in the body: no CORS preflight) when the server has `fast`.
 */
import {
  API_VERSION,
  BODY_FIELDS,
  HEADERS,
  SIMPLE_CONTENT_TYPE,
  parseFeatures,
  retryOf,
  utf8Length,
  type Feature,
} from "../protocol/index.ts";
import { backoffDelay, rateLimitDelay, BACKOFF } from "./backoff.ts";
import { errorFromResponse, NetworkError, RateLimitedError, RegistryError } from "./errors.ts";
import { type TimerScope, abortError, isAbortError } from "./timers.ts";
import type { TelemetryEvent } from "./types.ts";

export interface TransportOptions {
  baseUrl: string;
  fetchImpl: (input: RequestInfo, init?: RequestInit) => Promise<Response>;
  nowMs: () => number;
  random: () => number;
  timers: TimerScope;
  csrfHeaderName: string;
  csrfHeaderValue: string;
  telemetry: (ev: Omit<TelemetryEvent, "at">) => void;
  /** Told before each automatic retry, so the client can surface e.g. retryAfterSec. */
  onRetry: (err: RegistryError) => void;
  /** Retries after 429/5xx/network failures before giving up (default 4), for requests without `until`. */
  maxRetries?: number;
}

/**
 * Bounds of one request: a plain request gets REQUEST_TIMEOUT_MS, a long-poll its hold plus
 * LONGPOLL_GRACE_MS. A request whose packets are dropped (Registry unreachable, link cut) would
 * otherwise hang for minutes (TCP gives up late); after the timeout it counts as a network failure.
 * Requests with `until` (the session's) back off at most OUTAGE_CAP_MS between tries, so a
 * Registry that comes back is found within seconds.
 */
export const REQUEST_BOUNDS = { timeoutMs: 15_000, longpollGraceMs: 5_000, outageCapMs: 4_000 } as const;

export interface RequestSpec {
  method: "GET" | "POST";
  /** Concrete path, e.g. `/rooms/ABC123/offer` (may carry a query). */
  path: string;
  /** Route pattern for telemetry, e.g. `/rooms/:code/offer`: never the code. */
  route: string;
  token?: string;
  body?: unknown;
  signal: AbortSignal;
  /** Network failures are retried only for requests safe to repeat. */
  idempotent?: boolean;
  /** Overrides TransportOptions.maxRetries (close() uses 0: one best-effort attempt, no timer). */
  maxRetries?: number;
  /** fetch keepalive: the browser sends it even while the page unloads (the best-effort /close). */
  keepalive?: boolean;
  /**
   * (session requests) Retry transient failures for as long as `nowMs() < until()`, whatever the
   * number of tries: a Registry outage shorter than the room's lifetime is ridden out.
   */
  until?: () => number;
  /**
   * (ext `fast`) A client's first request (create, join): sent in the simple form while the
   * server's features are unknown too; a server without `fast` refuses it (403, nothing done)
   * and it goes again preflighted.
   */
  probe?: boolean;
}

/** A request abandoned by kick(): a network failure that is retried at once. */
class Kicked extends NetworkError {}

export interface HttpResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

export class Transport {
  /** Features from the latest response; empty until the first response (MVP until told). */
  features = new Set<Feature>();
  featuresKnown = false;
  /** TS-private, not `#`: the unit tests reach it. */
  private readonly o: TransportOptions;
  readonly #maxRetries: number;
  /** In-flight fetches and backoff sleeps that kick() cuts short. */
  readonly #kickable = new Set<() => void>();
  /** (ext `fast`) The simple form needs the protocol's own CSRF header (none configured). */
  readonly #simpleOk: boolean;
  constructor(o: TransportOptions) {
    this.o = o;
    this.#maxRetries = o.maxRetries ?? 4;
    this.#simpleOk = o.csrfHeaderName === HEADERS.version && o.csrfHeaderValue === String(API_VERSION);
  }

  has(f: Feature): boolean {
    return this.features.has(f);
  }

  /**
   * The network is back (an `online` event, or the peer connection recovered): every backoff wait
   * ends now and every request in flight is abandoned and sent again (one started during an outage
   * may be stuck on a dead TCP connection for minutes).
   */
  kick(): void {
    for (const k of [...this.#kickable]) k();
  }

  /** (ext `fast`) A POST goes simple when the server has `fast`, or as a probe while nothing is known. */
  #simple(spec: RequestSpec): boolean {
    return (
      spec.method === "POST" && this.#simpleOk && (this.has("fast") || (spec.probe === true && !this.featuresKnown))
    );
  }

  async request<T = unknown>(spec: RequestSpec, attempt = 0): Promise<HttpResult<T>> {
    let err: RegistryError;
    const simple = this.#simple(spec);
    try {
      return await this.#once<T>(spec, simple);
    } catch (e) {
      if (isAbortError(e) || !(e instanceof RegistryError)) throw e;
      err = e;
    }
    // A server without `fast` refused the simple form before doing anything: the preflighted form.
    if (simple && err.status === 403 && !this.has("fast")) return this.request({ ...spec, probe: false }, attempt);
    // Sent again only when transient (the protocol's table says so; a lost network reply only for
    // requests safe to repeat).
    const transient = err instanceof NetworkError ? spec.idempotent === true : retryOf(err.code, err.status!) > 1;
    const until = spec.until;
    // A request kicked off a dead connection goes again at once.
    const delay =
      err instanceof Kicked
        ? 0
        : err instanceof RateLimitedError
          ? rateLimitDelay(attempt, err.retryAfterSec, this.o.random)
          : backoffDelay(attempt, this.o.random, until ? REQUEST_BOUNDS.outageCapMs : BACKOFF.capMs);
    // With a deadline, the clock decides (an outage is ridden out); without, the number of tries.
    const inBudget = until ? this.o.nowMs() + delay < until() : attempt < (spec.maxRetries ?? this.#maxRetries);
    if (!transient || !inBudget) throw err;
    // A wait longer than the backoff cap is the caller's to show (e.g. a 60 s join lockout).
    if (delay > BACKOFF.capMs + BACKOFF.baseMinMs) throw err;
    this.o.onRetry(err);
    this.o.telemetry({
      type: "retry",
      method: spec.method,
      route: spec.route,
      attempt: attempt + 1,
      delayMs: delay,
      ...(err.status === undefined ? {} : { status: err.status }),
    });
    if (delay > 0) await this.#sleep(delay, spec.signal);
    return this.request<T>(spec, attempt + 1);
  }

  /** A backoff wait that kick() ends early. */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    const kick = () => ctl.abort();
    const onAbort = () => ctl.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#kickable.add(kick);
    try {
      await this.o.timers.sleep(ms, ctl.signal);
    } catch {
      // Kicked, or the caller's signal aborted (checked below).
    } finally {
      this.#kickable.delete(kick);
      signal.removeEventListener("abort", onAbort);
    }
    if (signal.aborted) throw abortError();
  }

  async #once<T>(spec: RequestSpec, simple: boolean): Promise<HttpResult<T>> {
    const headers: Record<string, string> = {};
    if (spec.token !== undefined && !simple) headers[HEADERS.token] = spec.token;
    let body: string | undefined;
    if (simple) {
      // No custom header, a CORS-safelisted type: the browser sends it without a preflight.
      headers["Content-Type"] = SIMPLE_CONTENT_TYPE;
      const auth = spec.token === undefined ? {} : { [BODY_FIELDS.token]: spec.token };
      body = JSON.stringify({ [BODY_FIELDS.version]: API_VERSION, ...auth, ...(spec.body as object | undefined) });
    } else if (spec.method === "POST") {
      headers[this.o.csrfHeaderName] = this.o.csrfHeaderValue;
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(spec.body ?? {});
    }
    if (spec.signal.aborted) throw abortError();
    const t0 = this.o.nowMs();
    // Our own controller: the caller's signal, the request's time bound and kick() all end it.
    const ctl = new AbortController();
    const abort = () => ctl.abort();
    let kicked = false;
    const kick = () => {
      kicked = true;
      ctl.abort();
    };
    spec.signal.addEventListener("abort", abort, { once: true });
    // A long-poll's hold is in its body (`wait`, ext `fast`).
    const hold = (spec.body as { wait?: unknown } | undefined)?.wait;
    const timer = this.o.timers.set(
      abort,
      typeof hold === "number" ? hold * 1000 + REQUEST_BOUNDS.longpollGraceMs : REQUEST_BOUNDS.timeoutMs,
    );
    this.#kickable.add(kick);
    this.o.telemetry({
      type: "request",
      method: spec.method,
      route: spec.route,
      bytes: body === undefined ? 0 : utf8Length(body),
    });
    let res: Response;
    let text: string;
    try {
      // No `cache: "no-store"`: Chromium then skips its CORS preflight cache, so every request
      // paid a preflight. Every Registry response is `Cache-Control: no-store` (docs/protocol.md),
      // so the HTTP cache keeps nothing either way.
      res = await this.o.fetchImpl(this.o.baseUrl + spec.path, {
        method: spec.method,
        headers,
        body,
        signal: ctl.signal,
        credentials: "omit",
        ...(spec.keepalive ? { keepalive: true } : {}),
      });
      // Inside the try: a connection lost while the body streams is a network failure too.
      text = await res.text();
    } catch (e) {
      // The caller's abort stays an abort; a timeout or kick is a network failure (retried).
      if (spec.signal.aborted) throw e;
      throw kicked ? new Kicked() : new NetworkError();
    } finally {
      this.o.timers.cancel(timer);
      this.#kickable.delete(kick);
      spec.signal.removeEventListener("abort", abort);
    }
    const fh = res.headers.get(HEADERS.features);
    if (fh !== null) {
      this.features = parseFeatures(fh);
      this.featuresKnown = true;
    }
    this.o.telemetry({
      type: "response",
      method: spec.method,
      route: spec.route,
      status: res.status,
      bytes: utf8Length(text),
      latencyMs: this.o.nowMs() - t0,
    });
    let json: unknown = null;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (res.status >= 200 && res.status < 300) {
      if (text !== "" && json === null && res.status !== 204)
        throw new RegistryError("unknown", `Response is not JSON (${res.status}).`, { status: res.status });
      return { status: res.status, body: json as T, headers: res.headers };
    }
    throw errorFromResponse(res.status, json, res.headers.get("Retry-After"));
  }
}
