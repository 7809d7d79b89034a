/**
 * A bounded UDP forwarder that delays and drops datagrams: the lab's stand-in for netem (this
 * kernel has no sch_netem). It sits in front of the TURN server: a player whose ICE server is
 * the forwarder's port (and who is relay-only) sends every packet of its connection through it.
 *
 * Each client address gets its own upstream socket (so the TURN server sees one 5-tuple per
 * client, as it would through a NAT). Delay and loss apply in both directions. Bounded: at
 * most `maxClients` mappings, idle ones closed after `idleMs`, at most `maxQueued` datagrams
 * waiting in each direction (more are dropped, like a full router queue).
 */
import { createSocket, type Socket } from "node:dgram";

export interface ImpairOptions {
  host: string;
  port: number;
  targetHost: string;
  targetPort: number;
  /** One-way delay added in each direction (ms). */
  delayMs: number;
  /** Probability of dropping each datagram in each direction (0–1). */
  loss: number;
  maxClients?: number;
  idleMs?: number;
  maxQueued?: number;
  random?: () => number;
}

export interface ImpairStats {
  forwarded: number;
  dropped: number;
  clients: number;
}

export interface Impairer {
  stats(): ImpairStats;
  close(): Promise<void>;
}

interface Mapping {
  upstream: Socket;
  lastSeen: number;
}

export async function startImpairer(o: ImpairOptions): Promise<Impairer> {
  const maxClients = o.maxClients ?? 64;
  const idleMs = o.idleMs ?? 60_000;
  const maxQueued = o.maxQueued ?? 5000;
  const random = o.random ?? Math.random;
  const st: ImpairStats = { forwarded: 0, dropped: 0, clients: 0 };
  const mappings = new Map<string, Mapping>();
  const timers = new Set<NodeJS.Timeout>();
  let queued = 0;
  let closed = false;

  const front = createSocket("udp4");
  /** Sends after the delay unless lost or the queue is full. */
  const later = (send: () => void): void => {
    if (closed || random() < o.loss || queued >= maxQueued) {
      st.dropped++;
      return;
    }
    queued++;
    const t = setTimeout(() => {
      timers.delete(t);
      queued--;
      if (closed) return;
      st.forwarded++;
      send();
    }, o.delayMs);
    timers.add(t);
  };

  front.on("message", (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let m = mappings.get(key);
    if (!m) {
      if (mappings.size >= maxClients) {
        st.dropped++;
        return;
      }
      const upstream = createSocket("udp4");
      upstream.on("message", (back) => later(() => front.send(back, rinfo.port, rinfo.address)));
      upstream.on("error", () => {});
      upstream.bind(0, o.host);
      m = { upstream, lastSeen: Date.now() };
      mappings.set(key, m);
      st.clients = mappings.size;
    }
    m.lastSeen = Date.now();
    const up = m.upstream;
    later(() => up.send(msg, o.targetPort, o.targetHost));
  });
  front.on("error", () => {});
  await new Promise<void>((ok, fail) => {
    front.once("error", fail);
    front.bind(o.port, o.host, () => {
      front.off("error", fail);
      ok();
    });
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, m] of mappings) {
      if (now - m.lastSeen > idleMs) {
        m.upstream.close();
        mappings.delete(k);
      }
    }
    st.clients = mappings.size;
  }, 5000);
  sweep.unref();

  return {
    stats: () => ({ ...st }),
    async close() {
      closed = true;
      clearInterval(sweep);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const m of mappings.values()) m.upstream.close();
      mappings.clear();
      await new Promise<void>((ok) => front.close(() => ok()));
    },
  };
}
