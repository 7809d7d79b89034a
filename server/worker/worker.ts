/**
 * The Registry on Cloudflare Workers (wrangler.jsonc; local runs: `npm run dev:worker`).
 *
 * The same runtime-free pieces as the Node runtime, wired to Durable Objects; there is no
 * second copy of any rule:
 * - The Worker runs the Hono app (server/app.ts): origin/CORS, routes, version header,
 *   body cap, per-IP limits, secrets and their digests, the §9 log line. Its
 *   `RoomDirectory` forwards each `call(code, request)` to the `Room` Durable Object named
 *   by the room code (`idFromName(code)`); requests and replies are plain JSON. Room
 *   creation picks a random code and the app retries when that object already holds a
 *   room (`exists`).
 * - `Room` (SQLite-backed) runs server/room-host.ts's `RoomHost` unchanged over its own
 *   storage: one key, its room record (tokens and join code only as SHA-256 digests, as
 *   the room rules keep them). The host serialises the room's operations and keeps the
 *   long-poll waiters in the object's memory; the record itself always comes from
 *   storage, so an evicted or restarted object carries on where it was. TTLs use the
 *   object's alarm, set to the record's `expiresAt` on every write: the alarm applies the
 *   expiry (room → closed tombstone → gone) and a gone room deletes all its storage.
 * - `Limiter` (SQLite-backed), one per client IP (named by a digest of the IP, never the
 *   IP itself), applies server/ratelimit.ts's sliding window to the create / public /
 *   join buckets, with its windows in storage and an alarm that deletes them once idle.
 *   A limit of 0 is off and costs no call at all.
 * - Client IP: `CF-Connecting-IP` (set by Cloudflare; X-Forwarded-For and TRUST_PROXY are
 *   never used here), grouped like Node's (IPv6 by IPV6_PREFIX, core/ip.ts). Locally it
 *   may be absent: all such requests share one loopback key, so the limits still apply.
 * - Ceilings: each room's object caps its held long-polls (MAX_LONGPOLLS_PER_ROOM) and its
 *   bytes (MAX_ROOM_BYTES); rooms, connections and per-IP long-polls are the platform's
 *   to scale (MAX_ROOMS, MAX_CONNECTIONS*, MAX_LONGPOLLS*, timeouts are Node-only).
 */
import { DurableObject } from "cloudflare:workers";
import type { DurableObjectNamespace, DurableObjectState } from "@cloudflare/workers-types/index.ts";
import type { Context } from "hono";
import { createApp } from "../core/app.ts";
import { parseConfig, type EnvLike, type RegistryConfig } from "../core/config.ts";
import { sha256Hex } from "../core/crypto.ts";
import { slidingWindowHit, WINDOW_MS, type IpBucket, type LimitResult, type RateLimiter } from "../core/ratelimit.ts";
import { RoomHost, type RoomDirectory, type RoomStorage } from "../core/room-host.ts";
import type { RoomRecord, RoomReply, RoomRequest } from "../core/room.ts";
import { toJsonText } from "./worker-json.ts";
import { errorEnvelope, ERROR_STATUS, HEADERS, FEATURES } from "../../src/protocol/index.ts";

export interface Env {
  ROOMS: DurableObjectNamespace<Room>;
  LIMITER: DurableObjectNamespace<Limiter>;
  /** §10 configuration names arrive as `vars` (strings). */
  [name: string]: unknown;
}

/** The §10 names (and the REGISTRY_FEATURES test switch) from the bindings, strings only. */
function configEnv(env: Env): EnvLike {
  const out: EnvLike = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Config per isolate: vars are fixed for a deployment, so parse once. */
let cachedConfig: { env: Env; config: RegistryConfig } | undefined;
function configOf(env: Env): RegistryConfig {
  if (cachedConfig?.env !== env) cachedConfig = { env, config: parseConfig(configEnv(env)) };
  return cachedConfig.config;
}

/** Local runs without CF-Connecting-IP share this key (limits still apply). */
const LOCAL_IP = "127.0.0.1";

// ---- the Worker ------------------------------------------------------------------------

/** Only the DO's own URL space: the path names the operation, never user input. */
const ROOM_CALL_URL = "https://room.internal/call";

class DurableRoomDirectory implements RoomDirectory {
  constructor(private readonly ns: DurableObjectNamespace<Room>) {}

  async call(code: string, req: RoomRequest): Promise<RoomReply> {
    const stub = this.ns.get(this.ns.idFromName(code));
    // A client that gives up on a long-poll is not signalled to the object (workerd does
    // not propagate it locally): its waiter ends at its deadline, at most LONGPOLL_MAX_SEC.
    const res = await stub.fetch(ROOM_CALL_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: toJsonText({ code, req }),
    });
    return (await res.json()) as RoomReply;
  }
}

class DurableRateLimiter implements RateLimiter {
  constructor(private readonly ns: DurableObjectNamespace<Limiter>) {}

  async hit(bucket: IpBucket, key: string, limit: number): Promise<LimitResult> {
    if (limit <= 0) return { ok: true };
    // The object's name is a digest: the IP never leaves this line in clear.
    const name = await sha256Hex(`registry-ip:${key}`);
    return this.ns.get(this.ns.idFromName(name)).hit(bucket, limit);
  }
}

type App = ReturnType<typeof createApp>;
let cachedApp: { env: Env; app: App } | undefined;

function appOf(env: Env): App {
  if (cachedApp?.env === env) return cachedApp.app;
  const config = configOf(env);
  const app = createApp({
    config,
    rooms: new DurableRoomDirectory(env.ROOMS),
    limiter: new DurableRateLimiter(env.LIMITER),
    clientIp: (c: Context) => c.req.header("cf-connecting-ip") || LOCAL_IP,
    log: (line) => console.log(line),
  });
  cachedApp = { env, app };
  return app;
}

/** A misconfigured deployment answers 503 envelopes (the log names the variable, no data). */
function misconfigured(e: unknown): Response {
  console.error(JSON.stringify({ t: new Date().toISOString(), error: "config", message: e instanceof Error ? e.message : "invalid configuration" }));
  return new Response(JSON.stringify(errorEnvelope("unavailable", { message: "The Registry is misconfigured." })), {
    status: ERROR_STATUS.unavailable,
    headers: { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", [HEADERS.features]: FEATURES.join(", ") },
  });
}

/**
 * How much of a request body the app left unread (a 413, or a POST refused before its
 * body mattered) the Worker still reads and discards before answering. workerd resets a
 * connection whose request body is unread when it answers, so a client still uploading,
 * or reusing that keep-alive connection, sees ECONNRESET instead of the answer (Node
 * drains by itself). Past this much, a reset is the right answer to such an upload.
 */
const DRAIN_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Gives the app a body it may cancel (it stops reading at the cap) while the Worker keeps
 * the original stream, to drain what is left once the app has answered.
 */
class DetachableBody {
  readonly request: Request;
  readonly #source: ReadableStreamDefaultReader<Uint8Array>;
  /** The read the app's view has in flight, if any (a reader allows one at a time). */
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;

  constructor(request: Request, body: ReadableStream<Uint8Array>) {
    this.#source = body.getReader();
    const view = new ReadableStream<Uint8Array>(
      {
        pull: async (ctrl) => {
          this.#pending = this.#source.read();
          const r = await this.#pending;
          this.#pending = null;
          if (r.done) ctrl.close();
          else ctrl.enqueue(r.value);
        },
        // The app's cancel ends this view only; the Worker decides about the source.
      },
      { highWaterMark: 0 },
    );
    this.request = new Request(request, { body: view });
  }

  /** Reads and discards the rest, up to DRAIN_MAX_BYTES; past that, gives up (reset). */
  async drain(declaredLength: string | null): Promise<void> {
    if (declaredLength !== null && Number(declaredLength) > DRAIN_MAX_BYTES) return this.discard();
    let total = 0;
    try {
      if (this.#pending) {
        const r = await this.#pending;
        if (r.done) return;
        total += r.value.byteLength;
      }
      for (;;) {
        const r = await this.#source.read();
        if (r.done) return;
        total += r.value.byteLength;
        if (total > DRAIN_MAX_BYTES) return this.discard();
      }
    } catch {
      /* the client went away: nothing to answer */
    }
  }

  discard(): void {
    this.#source.cancel().catch(() => {});
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    let app: App;
    try {
      app = appOf(env);
    } catch (e) {
      return misconfigured(e);
    }
    const detached = request.method === "POST" && request.body ? new DetachableBody(request, request.body) : null;
    const res = await app.fetch(detached?.request ?? request, env, ctx as never);
    // Whatever the app left unread (a 413, or a POST refused before its body mattered).
    if (detached) await detached.drain(request.headers.get("content-length"));
    return res;
  },
};

// ---- Room: one Durable Object per room code --------------------------------------------

const ROOM_KEY = "room";

/**
 * RoomStorage over the object's own storage: at most one room (this object's code). Every
 * write also moves the alarm to the record's `expiresAt`; deleting the room deletes
 * everything the object stored, alarm included.
 */
class DurableRoomStorage implements RoomStorage {
  /** The alarm this instance last set (avoids re-setting it on writes that keep the TTL). */
  #alarmAt: number | null | undefined;

  constructor(private readonly state: DurableObjectState) {}

  async get(_code: string): Promise<RoomRecord | undefined> {
    return this.state.storage.get<RoomRecord>(ROOM_KEY);
  }

  async put(_code: string, record: RoomRecord): Promise<void> {
    await this.state.storage.put(ROOM_KEY, record);
    if (this.#alarmAt !== record.expiresAt) {
      await this.state.storage.setAlarm(record.expiresAt);
      this.#alarmAt = record.expiresAt;
    }
  }

  async delete(_code: string): Promise<void> {
    await this.state.storage.deleteAlarm();
    await this.state.storage.deleteAll();
    this.#alarmAt = null;
  }

  async codes(): Promise<string[]> {
    const rec = await this.get("");
    return rec ? [rec.code] : [];
  }

  /** After the object restarts, re-arm the alarm from storage if it is missing. */
  async ensureAlarm(): Promise<void> {
    const rec = await this.get("");
    if (!rec) return;
    if ((await this.state.storage.getAlarm()) !== rec.expiresAt) await this.state.storage.setAlarm(rec.expiresAt);
    this.#alarmAt = rec.expiresAt;
  }
}

export class Room extends DurableObject<Env> {
  readonly #storage: DurableRoomStorage;
  readonly #host: RoomHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#storage = new DurableRoomStorage(ctx);
    const config = configOf(env);
    this.#host = new RoomHost({ storage: this.#storage, config, maxHoldsPerRoom: config.maxLongpollsPerRoom });
  }

  async fetch(request: Request): Promise<Response> {
    let call: { code: string; req: RoomRequest };
    try {
      call = (await request.json()) as { code: string; req: RoomRequest };
    } catch {
      return Response.json({ status: 400, error: "bad_request" } satisfies RoomReply, { status: 400 });
    }
    const reply = await this.#host.call(call.code, call.req);
    return Response.json(reply);
  }

  /** TTL: expire the room (→ tombstone, waking its long-polls) or drop a gone tombstone. */
  async alarm(): Promise<void> {
    await this.#host.sweep();
    // A record that is still here has its next deadline (the put above re-armed it, or
    // nothing changed and the deadline is still ahead): make sure the alarm says so.
    await this.#storage.ensureAlarm();
    console.log(JSON.stringify({ t: new Date().toISOString(), event: "room_alarm", room: (await this.#storage.codes()).length > 0 ? "kept" : "gone" }));
  }
}

// ---- Limiter: one Durable Object per client IP -----------------------------------------

export class Limiter extends DurableObject<Env> {
  /** Counts one request of `bucket` against `limit` per minute (server/ratelimit.ts). */
  async hit(bucket: IpBucket, limit: number): Promise<LimitResult> {
    const times = (await this.ctx.storage.get<number[]>(bucket)) ?? [];
    const now = Date.now();
    const r = slidingWindowHit(times, limit, now);
    if (r.ok) {
      await this.ctx.storage.put(bucket, times);
      // Every window is empty a minute after the last accepted request: forget them then.
      await this.ctx.storage.setAlarm(now + WINDOW_MS);
    }
    return r;
  }

  async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
