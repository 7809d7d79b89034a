/**
 * HTTP to the Registry through the injected fetch (docs/protocol.md, Requests and Errors):
 * JSON bodies, X-Access-Token when given, X-Registry-Version on every POST, error envelope →
 * typed error, 429 backoff honouring retryAfterSec, 5xx/network retry with backoff, and the
 * X-Registry-Features header remembered from every response. (ext `fast`) POSTs go in the simple
 * form (text/plain, version and token in the body: no CORS preflight) when the server has `fast`.
 */
import { API_VERSION, BODY_FIELDS, HEADERS, SIMPLE_CONTENT_TYPE, parseFeatures, retryOf, utf8Length, type Feature } from "../protocol/index.ts";
import { backoffDelay, rateLimitDelay, BACKOFF } from "./backoff.ts";
import { errorFromResponse, NetworkError, RateLimitedError, RegistryError } from "./errors.ts";
import { TimerScope, isAbortError } from "./timers.ts";
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
  /** Retries after 429/5xx/network failures before giving up (default 4). */
  maxRetries?: number;
}

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
  /** If-None-Match (a room long-poll's version cursor, so its URL, and cached preflight, stay the same). */
  ifNoneMatch?: string;
  /**
   * (ext `fast`) A client's first request (create, join): sent in the simple form while the
   * server's features are unknown too; a server without `fast` refuses it (403, nothing done)
   * and it goes again preflighted.
   */
  probe?: boolean;
}

export interface HttpResult<T> { status: number; body: T; headers: Headers }

export class Transport {
  /** Features from the latest response; empty until the first response (MVP until told). */
  features = new Set<Feature>();
  featuresKnown = false;
  /** TS-private, not `#`: the unit tests reach it. */
  private readonly o: TransportOptions;
  readonly #maxRetries: number;
  /** (ext `fast`) The simple form needs the protocol's own CSRF header (none configured). */
  readonly #simpleOk: boolean;
  constructor(o: TransportOptions) {
    this.o = o;
    this.#maxRetries = o.maxRetries ?? 4;
    this.#simpleOk = o.csrfHeaderName === HEADERS.version && o.csrfHeaderValue === String(API_VERSION);
  }

  has(f: Feature): boolean { return this.features.has(f); }

  /** (ext `fast`) A POST goes simple when the server has `fast`, or as a probe while nothing is known. */
  #simple(spec: RequestSpec): boolean {
    return spec.method === "POST" && this.#simpleOk && (this.has("fast") || (spec.probe === true && !this.featuresKnown));
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
    const retryable =
      attempt < (spec.maxRetries ?? this.#maxRetries) &&
      (err instanceof NetworkError ? spec.idempotent === true : retryOf(err.code, err.status!) > 1);
    if (!retryable) throw err;
    const delay = err instanceof RateLimitedError ? rateLimitDelay(attempt, err.retryAfterSec, this.o.random) : backoffDelay(attempt, this.o.random);
    // A wait longer than the backoff cap is the caller's to show (e.g. a 60 s join lockout).
    if (delay > BACKOFF.capMs + BACKOFF.baseMinMs) throw err;
    this.o.onRetry(err);
    this.o.telemetry({ type: "retry", method: spec.method, route: spec.route, attempt: attempt + 1, delayMs: delay, ...(err.status === undefined ? {} : { status: err.status }) });
    await this.o.timers.sleep(delay, spec.signal);
    return this.request<T>(spec, attempt + 1);
  }

  async #once<T>(spec: RequestSpec, simple: boolean): Promise<HttpResult<T>> {
    const headers: Record<string, string> = {};
    if (spec.token !== undefined && !simple) headers[HEADERS.token] = spec.token;
    if (spec.ifNoneMatch !== undefined) headers["If-None-Match"] = spec.ifNoneMatch;
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
    const t0 = this.o.nowMs();
    this.o.telemetry({ type: "request", method: spec.method, route: spec.route, bytes: body === undefined ? 0 : utf8Length(body) });
    let res: Response;
    let text: string;
    try {
      // No `cache: "no-store"`: Chromium then skips its CORS preflight cache, so every request
      // paid a preflight. Every Registry response is `Cache-Control: no-store` (docs/protocol.md),
      // so the HTTP cache keeps nothing either way. A request with If-None-Match and the default
      // mode is treated as no-store (fetch spec), hence "force-cache" there: nothing stored to use.
      const cache: RequestCache = spec.ifNoneMatch === undefined ? "default" : "force-cache";
      res = await this.o.fetchImpl(this.o.baseUrl + spec.path, { method: spec.method, headers, body, signal: spec.signal, credentials: "omit", cache, ...(spec.keepalive ? { keepalive: true } : {}) });
      // Inside the try: a connection lost while the body streams is a network failure too.
      text = await res.text();
    } catch (e) {
      if (isAbortError(e) || spec.signal.aborted) throw e;
      throw new NetworkError();
    }
    const fh = res.headers.get(HEADERS.features);
    if (fh !== null) {
      this.features = parseFeatures(fh);
      this.featuresKnown = true;
    }
    this.o.telemetry({ type: "response", method: spec.method, route: spec.route, status: res.status, bytes: utf8Length(text), latencyMs: this.o.nowMs() - t0 });
    let json: unknown = null;
    if (text !== "") {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    if (res.status >= 200 && res.status < 300) {
      if (text !== "" && json === null && res.status !== 204) throw new RegistryError("unknown", `Response is not JSON (${res.status}).`, { status: res.status });
      return { status: res.status, body: json as T, headers: res.headers };
    }
    throw errorFromResponse(res.status, json, res.headers.get("Retry-After"));
  }
}
