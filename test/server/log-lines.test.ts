/**
 * The Node Registry's default request log (server/node/log-lines.ts): the lines of one event-loop
 * turn leave in one write, in order, none lost at close. Node only (workerd logs to its console).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { batchedLines } from "../../server/node/log-lines.ts";
import { RUNTIME } from "./harness.ts";
import { createRoom, expectStatus, get } from "./helpers.ts";

const skip = RUNTIME !== "node" ? "Node only" : false;

test("batchedLines: one write per turn, in order, newline-terminated; flush writes what is pending", {
  skip,
}, async () => {
  const writes: string[] = [];
  const sink = batchedLines((chunk) => writes.push(chunk));
  sink.log("a");
  sink.log("b");
  assert.deepEqual(writes, [], "nothing written in the same turn");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ["a\nb\n"]);
  sink.log("c");
  sink.flush();
  assert.deepEqual(writes, ["a\nb\n", "c\n"], "flush writes at once");
  await new Promise((r) => setImmediate(r));
  sink.flush();
  assert.deepEqual(writes, ["a\nb\n", "c\n"], "the scheduled flush and an empty flush write nothing");
});

test("the default log: one JSON line per request on stdout, none lost when the Registry closes", { skip }, async () => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", resolve(import.meta.dirname, "fixtures/registry-child.ts")],
    {
      env: { ...process.env, REGISTRY_DEFAULT_LOG: "1", REGISTRY_ENV_JSON: "{}" },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on("line", (l) => lines.push(l));
  const exited = new Promise<number | null>((ok) => child.once("exit", ok));
  try {
    const url = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error("registry child did not start in 30 s")), 30_000);
      const poll = setInterval(() => {
        if (lines.length === 0) return;
        clearInterval(poll);
        clearTimeout(t);
        ok((JSON.parse(lines[0]!) as { url: string }).url);
      }, 10);
    });
    const room = await createRoom(url);
    expectStatus(await get(url, `/rooms/${room.code}/public`), 200);
    expectStatus(await get(url, "/health"), 200);
    // Closed right after the last answer: what is still pending is written at close.
    child.stdin!.end();
    assert.equal(await exited, 0);
    const logged = lines.slice(1).map((l) => JSON.parse(l) as { method: string; route: string; status: number });
    assert.deepEqual(
      logged.map((l) => `${l.method} ${l.route} ${l.status}`),
      ["POST /rooms 201", "GET /rooms/:code/public 200", "GET /health 200"],
    );
  } finally {
    child.kill();
  }
});
