/**
 * The Registry on Node: the runtime-free app (server/app.ts) over an in-memory room store
 * (server/room-host.ts), served by @hono/node-server.
 *
 * Node-only concerns live here and nowhere else: reading process.env, the listening socket,
 * the client IP (socket address; X-Forwarded-For only from a TRUST_PROXY peer, see
 * core/ip.ts), and the sweep timer (unref'd setInterval) that expires rooms, drops
 * tombstones and stale rate-limit windows, and wakes long-polls of rooms that closed.
 *
 * Socket-level protection (README "Security"), which the runtime-free app cannot do:
 * - A plain TCP listener hands each socket to the HTTP server only while the client's IP
 *   (ipKey) has fewer than MAX_CONNECTIONS_PER_IP open and the process fewer than
 *   MAX_CONNECTIONS (lowered to fit the file-descriptor limit); otherwise the socket gets
 *   a short error envelope (429 / 503, Retry-After) and is closed. Trusted proxies are
 *   not capped per IP (they carry many clients).
 * - HEADERS_TIMEOUT_SEC / REQUEST_TIMEOUT_SEC: Node's headersTimeout and requestTimeout
 *   (the body read deadline), checked every second; a late request gets a 400 envelope.
 * - `checkContinue`: `100 Continue` only for a body the app will read (declared within the
 *   body cap); an over-cap one is refused with 413 without ever inviting the body.
 * - Held long-polls per IP and in total (SlotLimiter via the app's holdGate).
 *
 * `npm run registry` and the package's `registry-peer` bin run it through ./cli.ts.
 */
import { createAdaptorServer } from "@hono/node-server";
import type { Server, IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import type { Context } from "hono";
import { createHash, randomFillSync } from "node:crypto";
import { createApp } from "../core/app.ts";
import { parseConfig, type EnvLike } from "../core/config.ts";
import { MemoryRateLimiter } from "../core/ratelimit.ts";
import { MemoryRoomStorage, RoomHost } from "../core/room-host.ts";
import { clientAddress, ipKey, isTrusted } from "../core/ip.ts";
import { SlotLimiter, holdGate } from "../core/limits-global.ts";
import {
  API_VERSION,
  HEADERS,
  LIMITS,
  errorEnvelope,
  ERROR_STATUS,
  FEATURES,
  type ErrorCode,
} from "../../src/protocol/index.ts";
import { batchedLines } from "./log-lines.ts";

export interface StartOptions {
  port?: number;
  host?: string;
  env?: EnvLike;
  log?: (line: string) => void;
  /** How often expired rooms are swept (ms). Default 1000. */
  sweepMs?: number;
  /** The file-descriptor soft limit to fit MAX_CONNECTIONS under (default: read from /proc). */
  fdLimit?: number;
}

export interface RunningRegistry {
  url: string;
  port: number;
  /** Open client connections, and the total ceiling in force (after the fd limit). */
  connections(): { open: number; max: number };
  close(): Promise<void>;
}

/** The soft RLIMIT_NOFILE from /proc (Linux); undefined elsewhere. */
function fdSoftLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** MAX_CONNECTIONS, lowered to leave descriptors for everything else (a quarter, at least 64). */
export function connectionCeiling(configured: number, fdLimit: number | undefined): number {
  if (fdLimit === undefined || !Number.isFinite(fdLimit)) return configured;
  const fit = Math.max(1, fdLimit - Math.max(64, Math.floor(fdLimit / 4)));
  return configured > 0 ? Math.min(configured, fit) : fit;
}

/** A complete HTTP/1.1 answer with the error envelope, for sockets the app never sees. */
function rawEnvelope(code: ErrorCode, message: string, retryAfterSec?: number): string {
  const body = JSON.stringify(errorEnvelope(code, { message, ...(retryAfterSec !== undefined && { retryAfterSec }) }));
  const status = ERROR_STATUS[code];
  const reason = status === 429 ? "Too Many Requests" : status === 503 ? "Service Unavailable" : "Bad Request";
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    // No Origin is known yet: the envelope is generic, so any page may read it.
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Retry-After\r\n" +
    "Cache-Control: no-store\r\nConnection: close\r\nContent-Type: application/json\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    (retryAfterSec !== undefined ? `Retry-After: ${retryAfterSec}\r\n` : "") +
    `X-Content-Type-Options: nosniff\r\n${HEADERS.features}: ${FEATURES.join(", ")}\r\n\r\n${body}`
  );
}

/** How long a refused socket may linger to read its answer before it is cut. */
const REFUSED_LINGER_MS = 500;

/**
 * Answers a refused socket and closes it. It lingers (holding a descriptor) only while fewer
 * than `maxLingering` others do: past that, under a connection flood, it is cut at once.
 */
function refuser(maxLingering: number): (socket: Socket, text: string) => void {
  let lingering = 0;
  return (socket, text) => {
    socket.on("error", () => {});
    if (lingering >= maxLingering) {
      socket.destroy();
      return;
    }
    lingering++;
    socket.once("close", () => lingering--);
    // Read and drop what the client sends, so closing does not reset the answer away.
    socket.resume();
    socket.end(text);
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  };
}

/**
 * SHA-256 hex on node:crypto: synchronous and ~40x cheaper per call than a WebCrypto digest
 * on Node 20 (which hops through the thread pool). Same bytes: both hash the UTF-8 encoding.
 */
const sha256HexSync = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

/**
 * CSPRNG bytes drawn from a 4 KiB pool refilled by node:crypto (as Node's own randomUUID
 * does): one call into the CSPRNG per ~100 secrets instead of one each. Every byte is handed
 * out once, as a copy, and wiped from the pool.
 */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;
const pooledRandomBytes = (n: number): Uint8Array => {
  if (n > POOL_BYTES) return randomFillSync(new Uint8Array(n));
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + n);
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
};

export async function startRegistry(opts: StartOptions = {}): Promise<RunningRegistry> {
  const config = parseConfig(opts.env ?? {});
  const port = opts.port ?? config.port;
  const host = opts.host ?? config.host;
  const storage = new MemoryRoomStorage();
  const rooms = new RoomHost({
    storage,
    config,
    maxRooms: config.maxRooms,
    maxHoldsPerRoom: config.maxLongpollsPerRoom,
  });
  const limiter = new MemoryRateLimiter();
  const holds = new SlotLimiter(config.maxLongpollsPerIp, config.maxLongpolls);

  const clientIp = (c: Context): string | undefined => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const peer = incoming?.socket.remoteAddress;
    return config.trustedProxies.length === 0
      ? peer
      : clientAddress(peer, c.req.header("x-forwarded-for"), config.trustedProxies);
  };

  // The default log: batched per event-loop turn, written out at close and at exit.
  const sink = opts.log ? undefined : batchedLines((chunk) => process.stdout.write(chunk));
  const flushAtExit = () => sink?.flush();
  if (sink) process.once("exit", flushAtExit);
  const app = createApp({
    config,
    rooms,
    limiter,
    clientIp,
    holdGate: (_c, key) => holdGate(holds, key),
    sha256: sha256HexSync,
    randomBytes: pooledRandomBytes,
    log: opts.log ?? sink!.log,
  });
  const headersTimeout = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: host,
    port,
    serverOptions: {
      headersTimeout,
      requestTimeout: config.requestTimeoutMs,
      // Node checks both timeouts on this interval (default 30 s): make "within seconds" true.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))),
    },
  }) as Server;

  // 100 Continue only for a body the app will read; else the app answers (413 etc.) at once.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    const cl = req.headers["content-length"];
    const declared = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
    const willRead =
      req.method === "POST" &&
      String(req.headers[HEADERS.version.toLowerCase()] ?? "").trim() === String(API_VERSION) &&
      (declared === undefined || declared <= LIMITS.bodyBytes);
    if (willRead) res.writeContinue();
    server.emit("request", req, res);
  });

  // Errors before the app sees a request (late headers/body, malformed HTTP) get the envelope.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const res = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !res?.headersSent) {
      if (err.code === "HPE_HEADER_OVERFLOW")
        socket.write("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
      else
        socket.write(
          rawEnvelope(
            "bad_request",
            err.code === "ERR_HTTP_REQUEST_TIMEOUT"
              ? "The request did not arrive in time."
              : "The request is malformed.",
          ),
        );
    }
    socket.destroy();
  });

  // Connection ceilings, before HTTP: see the file header.
  const fdLimit = opts.fdLimit ?? fdSoftLimit();
  const maxConnections = connectionCeiling(config.maxConnections, fdLimit);
  // Refused sockets may use half of the descriptors the ceiling leaves free.
  const refuse = refuser(
    fdLimit === undefined ? 256 : Math.max(8, Math.min(256, Math.floor((fdLimit - maxConnections) / 2))),
  );
  const perIp = new SlotLimiter(config.maxConnectionsPerIp, 0);
  let open = 0;
  // The socket options http.Server would have used had it accepted the socket itself.
  const tcp = createTcpServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    const peer = socket.remoteAddress;
    if (maxConnections > 0 && open >= maxConnections)
      return refuse(socket, rawEnvelope("unavailable", "The Registry has too many connections; retry later.", 5));
    const key = isTrusted(peer, config.trustedProxies) ? null : ipKey(peer, config.ipv6Prefix);
    if (key !== null && perIp.acquire(key) !== null)
      return refuse(socket, rawEnvelope("rate_limited", "Too many connections from this address.", 5));
    open++;
    socket.once("close", () => {
      open--;
      if (key !== null) perIp.release(key);
    });
    server.emit("connection", socket);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  // The HTTP server itself never listens (sockets come from `tcp`); its "listening" event
  // is what starts Node's connection tracking: the header/request timeout checks and
  // closeIdleConnections().
  server.emit("listening");

  // Rooms: only the due ones each tick (expiry heap). Rate-limit windows are a full pass, so
  // every 10th tick: a window outlives its minute by at most 10 s.
  let ticks = 0;
  const sweep = setInterval(() => {
    rooms.sweep().catch(() => {});
    if (++ticks % 10 === 0) limiter.sweep();
  }, opts.sweepMs ?? 1000);
  sweep.unref();

  const addr = tcp.address();
  const actualPort = typeof addr === "object" && addr ? addr.port : port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    connections: () => ({ open, max: maxConnections }),
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => tcp.close(() => resolve()));
        server.close();
        // Pending long-polls get their answer now; idle keep-alive sockets are dropped.
        await rooms.close();
        // Keep-alive sockets become idle once their last answer is written: drop them as
        // they do, and cut whatever is left after 2 s.
        server.closeIdleConnections();
        const idle = setInterval(() => server.closeIdleConnections(), 20);
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        await stopped;
        clearInterval(idle);
        clearTimeout(force);
        sink?.flush();
        process.removeListener("exit", flushAtExit);
      })();
      return closing;
    },
  };
}
