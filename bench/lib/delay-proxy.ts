/**
 * A TCP proxy on loopback that puts a round-trip time between the browsers and the Registry:
 * every chunk is forwarded half the RTT later, in each direction, in order. It models a
 * Registry `rttMs` away for every HTTP exchange (one request and its answer cost one RTT)
 * and nothing else: the TCP connection to the proxy itself is set up at loopback speed (as
 * the comparison of signaling libraries did), so the figure counts round trips of
 * the protocol, not of connection setup. The peer-to-peer path never goes through it.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface DelayProxy {
  url: string;
  rttMs: number;
  close(): Promise<void>;
}

export async function startDelayProxy(target: { host: string; port: number }, rttMs: number): Promise<DelayProxy> {
  const half = rttMs / 2;
  const sockets = new Set<Socket>();
  /** Forwards `from` → `to` half an RTT later; an end or an error travels the same way. */
  const pipe = (from: Socket, to: Socket) => {
    // Timers of one duration fire in the order they were set, so chunks stay in order.
    const later = (fn: () => void) => (half > 0 ? setTimeout(fn, half) : fn());
    from.on("data", (chunk) => later(() => to.destroyed || to.write(chunk)));
    from.on("end", () => later(() => to.destroyed || to.end()));
    // A close after an error (a reset) resets the other side too; a plain close ends it once
    // what was queued before it is written.
    from.on("error", () => later(() => to.destroy()));
    from.on("close", () => later(() => to.destroyed || to.end()));
  };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    rttMs,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
