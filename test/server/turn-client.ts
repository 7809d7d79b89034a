/**
 * A minimal TURN client over node:dgram, for tests only: Allocate and Refresh (RFC 8656) with
 * long-term credentials (RFC 8489 §9.2: key = MD5(username:realm:password), MESSAGE-INTEGRITY
 * = HMAC-SHA1 over the message with its length covering the attribute). Enough to ask a real
 * TURN server "do these credentials work?" without a browser.
 */
import { createSocket, type Socket } from "node:dgram";
import { createHash, createHmac, randomBytes } from "node:crypto";

const MAGIC = 0x2112a442;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  LIFETIME: 0x000d,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;
const METHOD = { ALLOCATE: 0x003, REFRESH: 0x004 } as const;
const CLASS = { request: 0x0000, success: 0x0100, error: 0x0110 } as const;

interface Message {
  type: number;
  txid: Buffer;
  attrs: Map<number, Buffer>;
  raw: Buffer;
  /** Offset of MESSAGE-INTEGRITY in `raw`, if present. */
  miOffset: number | null;
}

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + pad);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function encode(type: number, txid: Buffer, attrs: Array<[number, Buffer]>, key?: Buffer): Buffer {
  const body = Buffer.concat(attrs.map(([t, v]) => attr(t, v)));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  header.writeUInt32BE(MAGIC, 4);
  txid.copy(header, 8);
  if (!key) return Buffer.concat([header, body]);
  const mi = createHmac("sha1", key)
    .update(Buffer.concat([header, body]))
    .digest();
  return Buffer.concat([header, body, attr(ATTR.MESSAGE_INTEGRITY, mi)]);
}

function decode(buf: Buffer): Message | null {
  if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC) return null;
  const len = buf.readUInt16BE(2);
  if (20 + len > buf.length) return null;
  const attrs = new Map<number, Buffer>();
  let miOffset: number | null = null;
  for (let off = 20; off + 4 <= 20 + len; ) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    if (t === ATTR.MESSAGE_INTEGRITY) miOffset = off;
    if (!attrs.has(t)) attrs.set(t, buf.subarray(off + 4, off + 4 + l));
    off += 4 + l + ((4 - (l % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), txid: buf.subarray(8, 20), attrs, raw: buf.subarray(0, 20 + len), miOffset };
}

/** Checks a response's MESSAGE-INTEGRITY with our key: the server used the same password. */
function integrityOk(m: Message, key: Buffer): boolean {
  if (m.miOffset === null) return false;
  const head = Buffer.from(m.raw.subarray(0, m.miOffset));
  head.writeUInt16BE(m.miOffset - 20 + 24, 2);
  const want = createHmac("sha1", key).update(head).digest();
  return want.equals(m.raw.subarray(m.miOffset + 4, m.miOffset + 24));
}

function errorCode(m: Message): number | null {
  const v = m.attrs.get(ATTR.ERROR_CODE);
  return v && v.length >= 4 ? (v[2]! & 0x7) * 100 + v[3]! : null;
}

export type TurnResult =
  | { ok: true; relayed: { address: string; port: number }; lifetimeSec: number; integrity: boolean }
  | { ok: false; status: number | "timeout"; reason: string };

export interface TurnServerAddress {
  host: string;
  port: number;
}

/** One TURN client socket; `close()` it. Every wait is bounded (retransmits for at most `timeoutMs`). */
export class TurnClient {
  readonly #sock: Socket;
  readonly #server: TurnServerAddress;
  readonly #pending = new Map<string, (m: Message) => void>();
  #realm: Buffer | null = null;
  #nonce: Buffer | null = null;

  private constructor(sock: Socket, server: TurnServerAddress) {
    this.#sock = sock;
    this.#server = server;
    sock.on("message", (buf) => {
      const m = decode(buf);
      if (m) this.#pending.get(m.txid.toString("hex"))?.(m);
    });
  }

  static async open(server: TurnServerAddress): Promise<TurnClient> {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    return new TurnClient(sock, server);
  }

  close(): void {
    this.#sock.close();
  }

  async #transact(
    method: number,
    attrs: Array<[number, Buffer]>,
    key: Buffer | undefined,
    timeoutMs: number,
  ): Promise<Message | null> {
    const txid = randomBytes(12);
    const pkt = encode(method | CLASS.request, txid, attrs, key);
    const id = txid.toString("hex");
    return new Promise<Message | null>((resolve) => {
      const finish = (m: Message | null) => {
        clearInterval(resend);
        clearTimeout(give);
        this.#pending.delete(id);
        resolve(m);
      };
      this.#pending.set(id, finish);
      const send = () => this.#sock.send(pkt, this.#server.port, this.#server.host);
      send();
      const resend = setInterval(send, 500);
      const give = setTimeout(() => finish(null), timeoutMs);
    });
  }

  /**
   * A request with long-term credentials: first without them to learn REALM and NONCE (401),
   * then signed; a 438 (stale nonce) is retried once with the new nonce.
   */
  async #authed(
    method: number,
    extra: Array<[number, Buffer]>,
    username: string,
    password: string,
    timeoutMs: number,
  ): Promise<{ m: Message | null; key: Buffer | null }> {
    if (!this.#realm || !this.#nonce) {
      const first = await this.#transact(method, extra, undefined, timeoutMs);
      if (!first) return { m: null, key: null };
      if ((first.type & 0x0110) !== CLASS.error || errorCode(first) !== 401) return { m: first, key: null };
      this.#realm = first.attrs.get(ATTR.REALM) ?? null;
      this.#nonce = first.attrs.get(ATTR.NONCE) ?? null;
      if (!this.#realm || !this.#nonce) return { m: first, key: null };
    }
    const key = createHash("md5")
      .update(`${username}:${this.#realm.toString("utf8")}:${password}`)
      .digest();
    for (let attempt = 0; attempt < 2; attempt++) {
      const m = await this.#transact(
        method,
        [
          [ATTR.USERNAME, Buffer.from(username, "utf8")],
          [ATTR.REALM, this.#realm],
          [ATTR.NONCE, this.#nonce!],
          ...extra,
        ],
        key,
        timeoutMs,
      );
      if (m && (m.type & 0x0110) === CLASS.error && errorCode(m) === 438 && m.attrs.get(ATTR.NONCE)) {
        this.#nonce = m.attrs.get(ATTR.NONCE)!;
        continue;
      }
      return { m, key };
    }
    return { m: null, key };
  }

  /** Allocate a UDP relay with these credentials. */
  async allocate(username: string, password: string, timeoutMs = 5000): Promise<TurnResult> {
    const { m, key } = await this.#authed(
      METHOD.ALLOCATE,
      [[ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0])]],
      username,
      password,
      timeoutMs,
    );
    return this.#result(m, key);
  }

  /** Refresh the allocation (lifetime 0 deletes it). */
  async refresh(username: string, password: string, lifetimeSec: number, timeoutMs = 5000): Promise<TurnResult> {
    const lt = Buffer.alloc(4);
    lt.writeUInt32BE(lifetimeSec, 0);
    const { m, key } = await this.#authed(METHOD.REFRESH, [[ATTR.LIFETIME, lt]], username, password, timeoutMs);
    return this.#result(m, key);
  }

  #result(m: Message | null, key: Buffer | null): TurnResult {
    if (!m) return { ok: false, status: "timeout", reason: "no answer" };
    if ((m.type & 0x0110) === CLASS.success) {
      const lifetime = m.attrs.get(ATTR.LIFETIME);
      return {
        ok: true,
        relayed: xorAddress(m.attrs.get(ATTR.XOR_RELAYED_ADDRESS)),
        lifetimeSec: lifetime ? lifetime.readUInt32BE(0) : 0,
        integrity: key !== null && integrityOk(m, key),
      };
    }
    const v = m.attrs.get(ATTR.ERROR_CODE);
    return { ok: false, status: errorCode(m) ?? 0, reason: v ? v.subarray(4).toString("utf8") : "" };
  }
}

function xorAddress(v: Buffer | undefined): { address: string; port: number } {
  if (!v || v.length < 8 || v[1] !== 0x01) return { address: "", port: 0 };
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const a = v.readUInt32BE(4) ^ MAGIC;
  return { address: [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join("."), port };
}
