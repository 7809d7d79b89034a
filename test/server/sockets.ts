/** Raw loopback sockets for the ceiling tests: slow clients, chosen source addresses (127.0.0.0/8). */
import { connect, type Socket } from "node:net";

export interface RawSocket {
  socket: Socket;
  /** Everything received so far. */
  data(): string;
  closed: Promise<void>;
  destroy(): void;
}

/** Opens a TCP connection to `url`'s port from `localAddress` (a loopback address); resolves once connected. */
export function openRaw(url: string, localAddress = "127.0.0.1", timeoutMs = 5000): Promise<RawSocket> {
  const port = Number(new URL(url).port);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (buf += d));
    socket.on("error", () => {});
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    const t = setTimeout(() => {
      socket.destroy();
      reject(new Error("connect timed out"));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(t);
      resolve({ socket, data: () => buf, closed, destroy: () => socket.destroy() });
    });
    socket.once("close", () => {
      clearTimeout(t);
      reject(new Error("closed before connect"));
    });
  });
}

/** Waits until `cond()` or `ms` elapse; returns whether it held. */
export async function until(cond: () => boolean, ms: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** The status line's code and the JSON body of a raw HTTP/1.1 answer (null when none). */
export function parseRaw(text: string): { status: number; headers: string; body: any } | null {
  const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
  if (!m) return null;
  let body: any = null;
  try {
    body = JSON.parse(m[3]!);
  } catch {
    body = null;
  }
  return { status: Number(m[1]), headers: m[2]!.toLowerCase(), body };
}
