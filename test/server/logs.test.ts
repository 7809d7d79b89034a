/** §9: one JSON log line per request, never secrets, codes, SDP, candidates or IPs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./harness.ts";
import { SDP_ANSWER, SDP_OFFER, cand, expectStatus, get, post, tok } from "./helpers.ts";

test("after a full handshake the log holds none of the secrets or signaling data", async (t) => {
  const s = await startServer();
  try {
    if (!s.canCaptureLogs) {
      // Only runtimes whose harness can capture the request log can check it.
      t.skip(`${s.runtime}: logs not capturable`);
      return;
    }
    const secretSdpOffer = `${SDP_OFFER}a=ice-ufrag:OFFERUFRAGx9\r\na=fingerprint:sha-256 AA:BB:CC\r\n`;
    const secretSdpAnswer = `${SDP_ANSWER}a=ice-ufrag:ANSWERUFRAGy8\r\n`;
    const cands = [
      cand(1, {
        candidate: "candidate:842163049 1 udp 1677729535 198.51.100.77 61665 typ srflx raddr 0.0.0.0 rport 0",
      }),
      cand(2),
      cand(3),
    ];
    const created = await post(
      s.url,
      "/rooms",
      { hostUserName: "HostNameSecret" },
      { origin: "http://localhost:5173" },
    );
    expectStatus(created, 201);
    const { code, ownerToken, joinCode } = created.body;
    const typedJoinCode = `${joinCode.slice(0, 4)}-${joinCode.slice(4)}`.toLowerCase();
    expectStatus(await get(s.url, `/rooms/${code}/public`), 200);
    // A wrong join code first (the log must not contain it either).
    await post(s.url, `/rooms/${code}/join`, { joinCode: "WR0NGC0D", guestUserName: "x" });
    const j = await post(s.url, `/rooms/${code}/join`, { joinCode: typedJoinCode, guestUserName: "GuestNameSecret" });
    expectStatus(j, 200);
    const guestToken = j.body.guestToken;
    const H = tok(ownerToken);
    const G = tok(guestToken);
    expectStatus(await post(s.url, `/rooms/${code}/offer`, { type: "offer", sdp: secretSdpOffer }, H), 204);
    expectStatus(await get(s.url, `/rooms/${code}?since=0&wait=1`, G), 200);
    expectStatus(await post(s.url, `/rooms/${code}/answer`, { type: "answer", sdp: secretSdpAnswer }, G), 204);
    expectStatus(await post(s.url, `/rooms/${code}/candidate`, cands[0], H), 204);
    expectStatus(await post(s.url, `/rooms/${code}/candidate`, { items: cands.slice(1), end: true }, G), 204);
    expectStatus(await get(s.url, `/rooms/${code}/candidates?since=0`, G), 200);
    expectStatus(await get(s.url, `/rooms/${code}/candidates`, H), 200);
    // Failing requests are logged too, still without data.
    await get(s.url, `/rooms/${code}`, tok("WrongTokenSecretValue"));
    expectStatus(await post(s.url, `/rooms/${code}/close`, { reason: "ReasonSecretText" }, H), 204);
    await new Promise((r) => setTimeout(r, 100));

    const logs = s.logs();
    const all = logs.join("\n");
    const forbidden = [
      ownerToken,
      guestToken,
      "WrongTokenSecretValue",
      joinCode,
      typedJoinCode,
      joinCode.toLowerCase(),
      "WR0NGC0D",
      code,
      code.toLowerCase(),
      "OFFERUFRAGx9",
      "ANSWERUFRAGy8",
      "AA:BB:CC",
      "198.51.100.77",
      "candidate:",
      "typ host",
      "HostNameSecret",
      "GuestNameSecret",
      "ReasonSecretText",
      "127.0.0.1",
    ];
    for (const f of forbidden) assert.ok(!all.includes(f), `log contains ${JSON.stringify(f)}`);

    if (s.runtime === "node") {
      // Exactly one structured line per request, with the §9 fields.
      assert.equal(logs.length, 13);
      const routes = new Set<string>();
      for (const line of logs) {
        const o = JSON.parse(line);
        assert.equal(typeof o.method, "string");
        assert.equal(typeof o.route, "string");
        assert.equal(typeof o.status, "number");
        assert.equal(typeof o.ms, "number");
        assert.equal(typeof o.bytes, "number");
        routes.add(o.route);
      }
      assert.ok(routes.has("/rooms/:code/candidates"));
      assert.ok(routes.has("/rooms/:code"));
      assert.ok(routes.has("/rooms/:code/join"));
    }
  } finally {
    await s.close();
  }
});

test("a long-poll whose client went away is logged as 499, not as a bad request", async (t) => {
  const s = await startServer();
  try {
    if (s.runtime !== "node") {
      // Local workerd does not tell the Worker that its client went away: the hold runs to its
      // end and is logged as the 200 it would have been (measured: wait=2 → 200 after 2028 ms).
      t.skip(`${s.runtime}: a held request is not told that its client went away`);
      return;
    }
    const created = await post(s.url, "/rooms", { hostUserName: "Ann" });
    expectStatus(created, 201);
    const { code, ownerToken } = created.body;
    const ctl = new AbortController();
    const held = fetch(`${s.url}/rooms/${code}?since=1&wait=20`, {
      headers: { "x-access-token": ownerToken },
      signal: ctl.signal,
    }).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    ctl.abort();
    await held;
    // Bounded: the server notices the closed connection and logs the request.
    const t0 = Date.now();
    const line = () => s.logs().find((l) => l.includes('"route":"/rooms/:code"') && l.includes('"method":"GET"'));
    while (!line() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    const logged = line();
    assert.ok(logged, `no log line for the abandoned long-poll in:\n${s.logs().join("\n")}`);
    assert.equal(JSON.parse(logged.slice(logged.indexOf("{"))).status, 499);
  } finally {
    await s.close();
  }
});
