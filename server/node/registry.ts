/**
 * The Registry on Node: the runtime-free app (server/app.ts) over an in-memory room store
 * (server/room-host.ts), served by @hono/node-server.
 *
 * Node-only concerns live here and nowhere else: reading process.env, the listening socket,
 * the client IP (socket address, or the rightmost X-Forwarded-For entry when TRUST_PROXY is
 * set: the address our one trusted proxy saw), and the sweep timer (unref'd setInterval)
 * that expires rooms, drops tombstones and stale rate-limit windows, and wakes long-polls
 * of rooms that closed.
 *
 * `npm run registry` and the package's `registry-peer` bin run it through ./cli.ts.
 */
import { createAdaptorServer } from "@hono/node-server";
import type { Server, IncomingMessage } from "node:http";
import type { Context } from "hono";
import { createHash, randomFillSync } from "node:crypto";
import { createApp } from "../core/app.ts";
import { parseConfig, type EnvLike } from "../core/config.ts";
import { MemoryRateLimiter } from "../core/ratelimit.ts";
import { MemoryRoomStorage, RoomHost } from "../core/room-host.ts";

export interface StartOptions {
  port?: number;
  host?: string;
  env?: EnvLike;
  log?: (line: string) => void;
  /** How often expired rooms are swept (ms). Default 1000. */
  sweepMs?: number;
}

export interface RunningRegistry {
  url: string;
  port: number;
  close(): Promise<void>;
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
  const rooms = new RoomHost({ storage, config });
  const limiter = new MemoryRateLimiter();

  const clientIp = (c: Context): string | undefined => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (config.trustProxy) {
      const xff = c.req.header("x-forwarded-for");
      const last = xff?.split(",").map((s) => s.trim()).filter(Boolean).pop();
      if (last) return last;
    }
    return incoming?.socket.remoteAddress;
  };

  const app = createApp({ config, rooms, limiter, clientIp, sha256: sha256HexSync, randomBytes: pooledRandomBytes, log: opts.log ?? ((line) => console.log(line)) });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const sweep = setInterval(() => {
    rooms.sweep().catch(() => {});
    limiter.sweep();
  }, opts.sweepMs ?? 1000);
  sweep.unref();

  const addr = server.address();
  const actualPort = typeof addr === "object" && addr ? addr.port : port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
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
      })();
      return closing;
    },
  };
}
