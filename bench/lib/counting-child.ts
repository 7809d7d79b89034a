/**
 * The browser figures' Registry in its own process (bench/lib/counting-registry.ts `spawn`): the
 * Node Registry with every rate limit off and no STUN, plus a delay proxy per requested RTT.
 * A real Registry runs on another machine; in the harness's process it would share one event
 * loop with Playwright's protocol traffic, and every request would wait for it. Each log line
 * goes to the parent over IPC (it counts requests, preflights included); `{ cmd: "stop" }` ends it.
 */
import { startRegistry } from "../../server/node/registry.ts";
import { startDelayProxy } from "./delay-proxy.ts";
import { NO_LIMITS } from "./limits.ts";

const { env, rtts } = JSON.parse(process.argv[2] ?? "{}") as { env?: Record<string, string>; rtts?: number[] };
const reg = await startRegistry({
  port: 0,
  host: "127.0.0.1",
  // No public STUN servers: the benchmark browsers never send traffic off this machine.
  env: { ...NO_LIMITS, STUN_URLS: "", ...env },
  log: (line) => process.send!({ log: line }),
});
const target = { host: "127.0.0.1", port: reg.port };
const proxies = await Promise.all((rtts ?? []).map((rtt) => startDelayProxy(target, rtt)));
process.send!({ ready: { port: reg.port, proxies: proxies.map((p) => p.url) } });
process.on("message", (m: { cmd?: string }) => {
  if (m?.cmd === "stop") void Promise.all([...proxies.map((p) => p.close()), reg.close()]).then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
