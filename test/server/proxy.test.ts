/**
 * Issue 13 §5: client addresses. Pure checks of core/ip.ts (IPv6 prefix keys, TRUST_PROXY
 * CIDRs, the X-Forwarded-For walk), then the Node Registry: forwarding headers count only
 * from a listed proxy. (Workers: CF-Connecting-IP only, workerd-durable.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIME, startServer } from "./harness.ts";
import { expectError, expectStatus, post } from "./helpers.ts";
import { clientAddress, ipKey, parseCidr, parseIp, parseTrustedProxies } from "../../server/core/ip.ts";

const nodeOnly = { skip: RUNTIME !== "node" ? "Node only: Workers read CF-Connecting-IP" : false };

test("ipKey: IPv4 exact, IPv4-mapped IPv6 is IPv4, IPv6 grouped by its prefix, junk shares one key", () => {
  assert.equal(ipKey("203.0.113.7", 64), "203.0.113.7");
  assert.equal(ipKey("::ffff:203.0.113.7", 64), "203.0.113.7");
  assert.equal(ipKey("::ffff:cb00:7107", 64), "203.0.113.7");
  assert.equal(ipKey("2001:db8:1:2:aaaa::1", 64), ipKey("2001:db8:1:2:ffff:ffff:ffff:ffff", 64));
  assert.notEqual(ipKey("2001:db8:1:2::1", 64), ipKey("2001:db8:1:3::1", 64));
  assert.equal(ipKey("2001:db8:1:2::1", 48), ipKey("2001:db8:1:3::1", 48));
  assert.notEqual(ipKey("2001:db8::1", 128), ipKey("2001:db8::2", 128));
  assert.equal(ipKey("[2001:DB8::1]", 64), ipKey("2001:db8::", 64));
  for (const junk of [undefined, "", "unknown", "1.2.3", "1.2.3.256", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "::1::", "2001:db8::g", "a".repeat(100)]) {
    assert.equal(ipKey(junk, 64), "invalid", String(junk));
  }
});

test("parseIp / parseCidr / TRUST_PROXY entries", () => {
  assert.deepEqual(parseIp("::1")?.groups, [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIp("1::")?.groups, [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(parseIp("1:2:3:4:5:6:7::")?.groups.length, 8);
  assert.equal(parseIp("1:2:3:4:5:6:7:8::"), null);
  assert.deepEqual(parseCidr("10.0.0.0/8")?.bits, 8);
  assert.equal(parseCidr("10.0.0.0/8/1"), null);
  assert.equal(parseCidr("10.0.0.0/x"), null);
  assert.equal(parseTrustedProxies(" 127.0.0.1 , ::1, 10.0.0.0/8 ").length, 3);
  assert.deepEqual(parseTrustedProxies(""), []);
  for (const bad of ["1", "yes", "localhost", "10.0.0.0/33", "fe80::1%eth0"]) assert.throws(() => parseTrustedProxies(bad), /TRUST_PROXY/, bad);
});

test("clientAddress: the rightmost untrusted hop, only behind a trusted peer", () => {
  const trusted = parseTrustedProxies("127.0.0.1,10.0.0.0/8");
  // Untrusted peer: its header is ignored.
  assert.equal(clientAddress("198.51.100.1", "203.0.113.9", trusted), "198.51.100.1");
  // Trusted peer: the address it saw (the rightmost entry)...
  assert.equal(clientAddress("127.0.0.1", "1.1.1.1, 203.0.113.9", trusted), "203.0.113.9");
  // ...skipping further trusted proxies, never the client-written entries to the left.
  assert.equal(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", trusted), "203.0.113.9");
  // All hops trusted: the leftmost is as far as we can see.
  assert.equal(clientAddress("127.0.0.1", "10.0.0.2, 10.0.0.3", trusted), "10.0.0.2");
  // A malformed hop ends the walk at the last address a trusted proxy vouched for.
  assert.equal(clientAddress("127.0.0.1", "203.0.113.9, bogus, 10.0.0.3", trusted), "10.0.0.3");
  assert.equal(clientAddress("127.0.0.1", "bogus", trusted), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", "", trusted), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", undefined, trusted), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", "203.0.113.9", []), "127.0.0.1");
});

const create = (url: string, h: Record<string, string>) => post(url, "/rooms", { hostUserName: "a" }, h);

test("Node: X-Forwarded-For from a peer that is not a listed proxy is ignored (limits key on the socket)", nodeOnly, async () => {
  // The test's own address, 127.0.0.1, is not in the list.
  const s = await startServer({ TRUST_PROXY: "10.9.9.9/32,::2", LIMIT_CREATE_PER_MIN: "2" });
  try {
    expectStatus(await create(s.url, { "x-forwarded-for": "203.0.113.1" }), 201);
    expectStatus(await create(s.url, { "x-forwarded-for": "203.0.113.2" }), 201);
    expectError(await create(s.url, { "x-forwarded-for": "203.0.113.3" }), 429, "rate_limited");
    expectError(await create(s.url, { "x-forwarded-for": "203.0.113.4, 127.0.0.1" }), 429, "rate_limited");
  } finally {
    await s.close();
  }
});

test("Node: behind a listed proxy, the client is the rightmost untrusted hop; spoofed left entries change nothing", nodeOnly, async () => {
  const s = await startServer({ TRUST_PROXY: "127.0.0.1", LIMIT_CREATE_PER_MIN: "2" });
  try {
    // The client writes whatever it likes on the left; the proxy appends what it saw.
    expectStatus(await create(s.url, { "x-forwarded-for": "1.1.1.1, 203.0.113.5" }), 201);
    expectStatus(await create(s.url, { "x-forwarded-for": "2.2.2.2, 203.0.113.5" }), 201);
    expectError(await create(s.url, { "x-forwarded-for": "3.3.3.3, 203.0.113.5" }), 429, "rate_limited");
    // Another client behind the same proxy has its own budget.
    expectStatus(await create(s.url, { "x-forwarded-for": "203.0.113.6" }), 201);
    // IPv6 clients: one /64 is one client.
    expectStatus(await create(s.url, { "x-forwarded-for": "2001:db8:5:5::1" }), 201);
    expectStatus(await create(s.url, { "x-forwarded-for": "2001:db8:5:5::2" }), 201);
    expectError(await create(s.url, { "x-forwarded-for": "2001:db8:5:5:ffff::3" }), 429, "rate_limited");
    // Junk in the proxy's own entry is not a fresh identity: it ends at the proxy's key.
    expectStatus(await create(s.url, { "x-forwarded-for": "not-an-ip" }), 201);
    expectStatus(await create(s.url, { "x-forwarded-for": "also-not" }), 201);
    expectError(await create(s.url, { "x-forwarded-for": "still-not" }), 429, "rate_limited");
    expectError(await create(s.url, {}), 429, "rate_limited");
  } finally {
    await s.close();
  }
});
