/**
 * Client addresses, runtime-free and pure: parsing, the per-IP limit key (IPv6 grouped by a
 * prefix, since one subscriber gets a whole /64 and would otherwise be 2^64 clients), trusted
 * proxy lists (`TRUST_PROXY`) and picking the client out of `X-Forwarded-For`.
 */

/** An address as 8 (IPv4: 2) 16-bit groups; `v4` for IPv4 and IPv4-mapped IPv6. */
export interface ParsedIp {
  v4: boolean;
  groups: number[];
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): number[] | null {
  const m = V4.exec(s);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  if (b.some((x, i) => x > 255 || (m[i + 1]!.length > 1 && m[i + 1]![0] === "0"))) return null;
  return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
}

/** Parses an IPv4 or IPv6 address (no port, no zone; `[v6]` brackets allowed). null if it is not one. */
export function parseIp(input: string): ParsedIp | null {
  let s = input.trim();
  if (s.length > 64) return null;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const v4 = parseV4(s);
  if (v4) return { v4: true, groups: v4 };
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const t = parseV4(s.slice(lastColon + 1));
    if (!t) return null;
    tail = t;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const part = (h: string) => (h === "" ? [] : h.split(":"));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const groups: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  if (tail.length) groups.splice(6, 2, ...tail);
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 client it maps.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return { v4: true, groups: groups.slice(6) };
  return { v4: false, groups };
}

function masked(ip: ParsedIp, bits: number): number[] {
  return ip.groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
}

/**
 * The key every per-IP limit counts under: IPv4 as is, IPv6 cut to its first `v6Prefix`
 * bits. Anything that is not an address (a broken proxy header) shares one key, so it
 * gains nothing by being malformed.
 */
export function ipKey(addr: string | undefined, v6Prefix: number): string {
  const ip = addr === undefined ? null : parseIp(addr);
  if (!ip) return "invalid";
  if (ip.v4) return `${ip.groups[0]! >> 8}.${ip.groups[0]! & 255}.${ip.groups[1]! >> 8}.${ip.groups[1]! & 255}`;
  return `${masked(ip, v6Prefix).map((g) => g.toString(16)).join(":")}/${v6Prefix}`;
}

export interface Cidr {
  ip: ParsedIp;
  bits: number;
}

/** `a.b.c.d`, `a.b.c.d/n`, `v6`, `v6/n`; null when malformed. */
export function parseCidr(s: string): Cidr | null {
  const [addr, len, extra] = s.trim().split("/");
  if (extra !== undefined || addr === undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = ip.v4 ? 32 : 128;
  if (len === undefined) return { ip, bits: max };
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return null;
  return { ip, bits: Number(len) };
}

export function inCidr(ip: ParsedIp, c: Cidr): boolean {
  if (ip.v4 !== c.ip.v4) return false;
  const a = masked(ip, c.bits);
  const b = masked(c.ip, c.bits);
  return a.every((g, i) => g === b[i]);
}

/** Parses `TRUST_PROXY`: a comma list of addresses/CIDRs; throws on a malformed entry. */
export function parseTrustedProxies(raw: string | undefined): Cidr[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const c = parseCidr(p);
      if (!c) throw new Error(`config: TRUST_PROXY entry is not an address or CIDR: ${p} (list the proxies to trust, e.g. 127.0.0.1,10.0.0.0/8)`);
      return c;
    });
}

export function isTrusted(addr: string | undefined, trusted: readonly Cidr[]): boolean {
  if (trusted.length === 0 || addr === undefined) return false;
  const ip = parseIp(addr);
  return ip !== null && trusted.some((c) => inCidr(ip, c));
}

/**
 * The client's address. Forwarding headers count only when the socket peer is a trusted
 * proxy; then `X-Forwarded-For` is read from the right, skipping trusted proxies, and the
 * first untrusted hop is the client (entries to its left were written by the client itself).
 * A malformed entry ends the walk at the last address a trusted proxy vouched for.
 */
export function clientAddress(peer: string | undefined, xff: string | undefined, trusted: readonly Cidr[]): string | undefined {
  if (xff === undefined || !isTrusted(peer, trusted)) return peer;
  let client = peer;
  const hops = xff.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === "") continue;
    const ip = parseIp(hop);
    if (!ip) break;
    client = hop;
    if (!trusted.some((c) => inCidr(ip, c))) break;
  }
  return client;
}
