/**
 * Conformance (issues 9 and 11): a third-party peer written from docs/protocol.md alone
 * (doc-peer.ts, plain fetch + node-datachannel) against the project's own RegistryClient (Node,
 * node-datachannel) through a real Node Registry started as documented. Both roles, over the
 * fast path and over the MVP (REGISTRY_FEATURES=none): a message each way on the reliable
 * channel, then one side leaves and the other is told.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cleanup as ndcCleanup } from "node-datachannel";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import { RegistryClient } from "../../src/client/index.ts";
import { nodeDefaults } from "../../src/client/node.ts";
import { DocPeer } from "./doc-peer.ts";
import { type Registry, startRegistry } from "./registry.ts";

const servers: Record<"fast" | "mvp", Registry | undefined> = { fast: undefined, mvp: undefined };
before(async () => {
  [servers.fast, servers.mvp] = await Promise.all([startRegistry({}), startRegistry({ REGISTRY_FEATURES: "none" })]);
});
after(async () => {
  await Promise.all([servers.fast?.close(), servers.mvp?.close()]);
  ndcCleanup();
});

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The project's client, with what the test needs to observe. */
function refClient(baseUrl: string) {
  const got: { data: string; reliable: boolean }[] = [];
  let resolveClosed!: (why: string) => void;
  const closed = new Promise<string>((r) => (resolveClosed = r));
  const errors: string[] = [];
  const client = new RegistryClient(
    { baseUrl, ...nodeDefaults(RTCPeerConnection) },
    {
      onMessage: (data, { reliable }) => got.push({ data: String(data), reliable }),
      onClose: (why) => resolveClosed(String(why)),
      onError: (err) => errors.push(err.name),
    },
  );
  return { client, got, closed, errors };
}

/** The Registry's request log lines (docs/protocol.md, Logging) since `from`. */
function requests(reg: Registry, from: number): string[] {
  return reg.log
    .slice(from)
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { method: string; route: string; status: number })
    .map((r) => `${r.method} ${r.route} ${r.status}`);
}

for (const path of ["fast", "mvp"] as const) {
  describe(`doc peer ↔ RegistryClient over the ${path === "fast" ? "fast path" : "MVP"}`, () => {
    it("doc peer hosts, RegistryClient joins", { timeout: 60_000 }, async () => {
      const reg = servers[path]!;
      const logFrom = reg.log.length;
      const host = new DocPeer({ baseUrl: reg.url });
      const ref = refClient(reg.url);
      try {
        const room = await host.createRoom("DocHost");
        assert.equal(host.path, path, "the doc peer took the path the server serves");
        const { guestToken } = await ref.client.joinRoom({
          code: room.code,
          joinCode: room.joinCode,
          guestUserName: "RefGuest",
        });
        await within(
          Promise.all([host.connect(), ref.client.connect({ role: "guest", code: room.code, accessToken: guestToken })]),
          30_000,
          "both open",
        );
        host.send("doc→ref");
        ref.client.send("ref→doc");
        await until(() => ref.got.length > 0 && host.received.length > 0, 10_000, "a message each way");
        assert.deepEqual(ref.got, [{ data: "doc→ref", reliable: true }]);
        assert.deepEqual(host.received, ["ref→doc"]);

        // The doc peer leaves as the document says; RegistryClient is told.
        await host.close();
        const why = await within(ref.closed, 10_000, "RegistryClient told of the doc peer leaving");
        assert.ok(["peer_closed", "connection_closed", "connection_failed", "closed"].includes(why), why);
        assert.deepEqual(ref.errors, [], "RegistryClient errors");
        assert.deepEqual(host.errors, [], "doc peer errors");
        console.log(`  [${path}] doc host: ${host.requests.join(" | ")}`);
        console.log(`  [${path}] registry saw: ${requests(reg, logFrom).join(" | ")}`);
      } finally {
        ref.client.close();
        await host.close();
      }
    });

    it("RegistryClient hosts, doc peer joins", { timeout: 60_000 }, async () => {
      const reg = servers[path]!;
      const logFrom = reg.log.length;
      const ref = refClient(reg.url);
      const guest = new DocPeer({ baseUrl: reg.url });
      try {
        const room = await ref.client.createRoom({ hostUserName: "RefHost", prepare: {} });
        const hostOpen = ref.client.connect({ role: "host", code: room.code, accessToken: room.ownerToken });
        hostOpen.catch(() => {});
        await guest.join(room.code, room.joinCode, "DocGuest");
        assert.equal(guest.path, path, "the doc peer took the path the server serves");
        await within(Promise.all([hostOpen, guest.connect()]), 30_000, "both open").catch((e: Error) => {
          throw new Error(`${e.message}; doc peer: ${guest.errors.join("; ")}; ${guest.requests.join(" | ")}`);
        });
        guest.send("doc→ref");
        ref.client.send("ref→doc");
        await until(() => ref.got.length > 0 && guest.received.length > 0, 10_000, "a message each way");
        assert.deepEqual(ref.got, [{ data: "doc→ref", reliable: true }]);
        assert.deepEqual(guest.received, ["ref→doc"]);

        // RegistryClient leaves; the doc peer sees its channel (or connection) close.
        ref.client.close("bye");
        const why = await within(guest.peerClosed, 10_000, "doc peer told of RegistryClient leaving");
        assert.ok(why.length > 0);
        assert.deepEqual(ref.errors, [], "RegistryClient errors");
        assert.deepEqual(guest.errors, [], "doc peer errors");
        console.log(`  [${path}] doc guest: ${guest.requests.join(" | ")} (saw ${why})`);
        console.log(`  [${path}] registry saw: ${requests(reg, logFrom).join(" | ")}`);
      } finally {
        ref.client.close();
        await guest.close();
      }
    });
  });
}
