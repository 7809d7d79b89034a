/** §10 configuration parsing (pure; the same parser serves both runtimes) and the origin rule. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isOriginAllowed, parseConfig } from "../../server/core/config.ts";
import { CONFIG_DEFAULTS, DEFAULT_STUN_URLS, FEATURES } from "../../src/protocol/index.ts";

test("defaults", () => {
  const c = parseConfig({});
  assert.equal(c.port, CONFIG_DEFAULTS.PORT);
  assert.equal(c.host, CONFIG_DEFAULTS.HOST);
  assert.equal(c.ttlOpenMs, CONFIG_DEFAULTS.TTL_OPEN_SEC * 1000);
  assert.equal(c.ttlJoinedMs, CONFIG_DEFAULTS.TTL_JOINED_SEC * 1000);
  assert.equal(c.ttlPairedMs, CONFIG_DEFAULTS.TTL_PAIRED_SEC * 1000);
  assert.equal(c.ttlClosedMs, CONFIG_DEFAULTS.TTL_CLOSED_SEC * 1000);
  assert.equal(c.limitCreatePerMin, 10);
  assert.equal(c.limitPublicPerMin, 60);
  assert.equal(c.limitJoinPerMin, 20);
  assert.equal(c.limitWrongJoinPerRoomPerMin, 100);
  assert.equal(c.limitWrongJoinPerSourcePerMin, 5);
  assert.equal(c.limitProbePerMin, 60);
  assert.equal(c.maxRooms, 10_000);
  assert.equal(c.maxRoomBytes, 65_536);
  assert.deepEqual([c.maxLongpollsPerRoom, c.maxLongpollsPerIp, c.maxLongpolls], [8, 64, 4000]);
  assert.deepEqual([c.maxConnectionsPerIp, c.maxConnections], [128, 8000]);
  assert.deepEqual([c.headersTimeoutMs, c.requestTimeoutMs], [10_000, 15_000]);
  assert.equal(c.ipv6Prefix, 64);
  assert.equal(c.limitTokenPerMin, 300);
  assert.equal(c.longpollMaxMs, 25_000);
  assert.equal(c.maxRestarts, 5);
  assert.deepEqual(c.trustedProxies, []);
  assert.deepEqual(c.features, [...FEATURES]);
  assert.deepEqual(c.allowedOrigins, { any: false, list: [], defaultLocal: true });
});

test("values, fractions for TTLs, 0 for limits, flags, features", () => {
  const c = parseConfig({ PORT: "0", TTL_OPEN_SEC: "0.5", TTL_CLOSED_SEC: "0", LIMIT_CREATE_PER_MIN: "0", TRUST_PROXY: "127.0.0.1, 10.0.0.0/8,::1", HEADERS_TIMEOUT_SEC: "0.5", REGISTRY_FEATURES: "none", ALLOWED_ORIGINS: "*" });
  assert.equal(c.port, 0);
  assert.equal(c.ttlOpenMs, 500);
  assert.equal(c.ttlClosedMs, 0);
  assert.equal(c.limitCreatePerMin, 0);
  assert.deepEqual(c.trustedProxies.map((p) => p.bits), [32, 8, 128]);
  assert.equal(c.headersTimeoutMs, 500);
  assert.deepEqual(c.features, []);
  assert.equal(c.allowedOrigins.any, true);
  assert.deepEqual(parseConfig({ REGISTRY_FEATURES: "restart, batch" }).features, ["batch", "restart"]);
  assert.deepEqual(parseConfig({ ALLOWED_ORIGINS: "https://a.example/, http://b.example:81" }).allowedOrigins.list, ["https://a.example", "http://b.example:81"]);
});

test("malformed values fail fast, naming the variable", () => {
  const bad: Record<string, string>[] = [
    { PORT: "abc" },
    { PORT: "70000" },
    { TTL_OPEN_SEC: "0" },
    { TTL_JOINED_SEC: "-1" },
    { TTL_PAIRED_SEC: "1e3" },
    { LIMIT_JOIN_PER_MIN: "1.5" },
    { MAX_RESTARTS: "x" },
    { REGISTRY_FEATURES: "longpoll,teleport" },
    { ALLOWED_ORIGINS: "not an origin" },
    { ALLOWED_ORIGINS: "https://a.example/path" },
    // TRUST_PROXY names the proxies: a bare flag would trust every peer's X-Forwarded-For.
    { TRUST_PROXY: "1" },
    { TRUST_PROXY: "true" },
    { TRUST_PROXY: "127.0.0.1, proxy.example" },
    { TRUST_PROXY: "10.0.0.0/33" },
    { TRUST_PROXY: "256.0.0.1" },
    { TRUST_PROXY: "::1/129" },
    { HEADERS_TIMEOUT_SEC: "0" },
    { REQUEST_TIMEOUT_SEC: "601" },
    { IPV6_PREFIX: "0" },
    { IPV6_PREFIX: "129" },
    { MAX_ROOMS: "-1" },
  ];
  for (const env of bad) {
    const name = Object.keys(env)[0]!;
    assert.throws(() => parseConfig(env), (e: Error) => e.message.includes(name), JSON.stringify(env));
  }
});

test("default origin rule: exact local hosts on http, any port", () => {
  const d = parseConfig({}).allowedOrigins;
  for (const o of ["http://localhost", "http://localhost:1", "http://127.0.0.1:65535", "http://[::1]:8080"]) assert.ok(isOriginAllowed(o, d), o);
  for (const o of ["http://localhost:0", "http://localhost:65536", "http://localhost.", "http://localhost.evil.example", "https://localhost", "http://127.0.0.1.nip.io", "http://[::1].evil", "http://localhost:80/", "", "https://http://localhost", "xhttp://127.0.0.1"]) {
    assert.ok(!isOriginAllowed(o, d), o);
  }
});

test("ICE: defaults are the public STUN servers, no TURN, an hour of TTL, 10 fresh grants per token per minute", () => {
  const c = parseConfig({});
  assert.deepEqual(c.ice, { stunUrls: [...DEFAULT_STUN_URLS], turn: null, cloudflare: null, ttlSec: 3600 });
  assert.equal(c.limitIcePerMin, 10);
  assert.ok(FEATURES.includes("ice"));
});

test("ICE: values (empty STUN_URLS disables STUN; coturn; Cloudflare with the default or a local API base)", () => {
  assert.deepEqual(parseConfig({ STUN_URLS: "" }).ice.stunUrls, []);
  assert.deepEqual(parseConfig({ STUN_URLS: " stun:[::1]:3478 ,stuns:a.example " }).ice.stunUrls, ["stun:[::1]:3478", "stuns:a.example"]);
  const t = parseConfig({ TURN_URLS: "turn:10.0.0.1:3478?transport=udp,turns:t.example:443?transport=tcp", TURN_SECRET: "s".repeat(16), TURN_TTL_SEC: "1" }).ice;
  assert.deepEqual(t.turn, { urls: ["turn:10.0.0.1:3478?transport=udp", "turns:t.example:443?transport=tcp"], secret: "s".repeat(16) });
  assert.equal(t.ttlSec, 1);
  assert.deepEqual(parseConfig({ CF_TURN_KEY_ID: "abc_DEF-1", CF_TURN_API_TOKEN: "tok" }).ice.cloudflare, { keyId: "abc_DEF-1", apiToken: "tok", apiBase: "https://rtc.live.cloudflare.com" });
  assert.equal(parseConfig({ CF_TURN_KEY_ID: "k", CF_TURN_API_TOKEN: "t", CF_TURN_API_BASE: "http://127.0.0.1:9999/" }).ice.cloudflare?.apiBase, "http://127.0.0.1:9999");
});

test("ICE: malformed values fail fast, naming the variable and never echoing a secret", () => {
  const SECRET = "TopSecretValue-0123456789";
  const bad: Array<[Record<string, string>, string]> = [
    [{ STUN_URLS: "http://stun.example" }, "STUN_URLS"],
    [{ STUN_URLS: "turn:t.example" }, "STUN_URLS"],
    [{ STUN_URLS: "stun:a.example:70000" }, "STUN_URLS"],
    [{ STUN_URLS: "stun:a.example?transport=udp" }, "STUN_URLS"],
    [{ STUN_URLS: Array.from({ length: 17 }, (_, i) => `stun:s${i}.example`).join(",") }, "STUN_URLS"],
    [{ TURN_URLS: "stun:t.example", TURN_SECRET: SECRET }, "TURN_URLS"],
    [{ TURN_URLS: `turn:${SECRET}@t.example`, TURN_SECRET: SECRET }, "TURN_URLS"],
    [{ TURN_URLS: "turn:t.example" }, "TURN_SECRET"],
    [{ TURN_SECRET: SECRET }, "TURN_URLS"],
    [{ TURN_URLS: "turn:t.example", TURN_SECRET: "short" }, "TURN_SECRET"],
    [{ CF_TURN_KEY_ID: "k" }, "CF_TURN_API_TOKEN"],
    [{ CF_TURN_API_TOKEN: SECRET }, "CF_TURN_KEY_ID"],
    [{ CF_TURN_KEY_ID: "k/../x", CF_TURN_API_TOKEN: SECRET }, "CF_TURN_KEY_ID"],
    [{ CF_TURN_KEY_ID: "k", CF_TURN_API_TOKEN: SECRET, TURN_URLS: "turn:t.example", TURN_SECRET: SECRET }, "not both"],
    [{ CF_TURN_KEY_ID: "k", CF_TURN_API_TOKEN: SECRET, CF_TURN_API_BASE: "ftp://x" }, "CF_TURN_API_BASE"],
    [{ TURN_TTL_SEC: "0" }, "TURN_TTL_SEC"],
    [{ TURN_TTL_SEC: "1.5" }, "TURN_TTL_SEC"],
    [{ TURN_TTL_SEC: String(8 * 24 * 3600) }, "TURN_TTL_SEC"],
    [{ LIMIT_ICE_PER_MIN: "x" }, "LIMIT_ICE_PER_MIN"],
  ];
  for (const [env, name] of bad) {
    assert.throws(
      () => parseConfig(env),
      (e: Error) => e.message.includes(name) && !e.message.includes(SECRET),
      JSON.stringify(env),
    );
  }
});
