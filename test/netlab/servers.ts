/**
 * Runs inside the lab's "internet" namespace (started by lab.ts through `ip netns exec`, with
 * an IPC channel): one Node Registry + one static demo server per profile (each page origin
 * gets the Registry it names in `%REGISTRY_URL%`), and the delay/loss forwarders.
 * Config comes in RPNL_SERVERS (JSON). It exits when the parent disconnects, so a crashed test
 * leaves no server behind.
 */
import { startRegistry, type RunningRegistry } from "../../server/node/registry.ts";
import { startStatic, type StaticServer } from "../../server/dev/start.ts";
import { startImpairer, type ImpairOptions, type Impairer } from "./impair.ts";

export interface ServersConfig {
  host: string;
  profiles: { name: string; registryPort: number; staticPort: number; env: Record<string, string> }[];
  impairers: (ImpairOptions & { name: string })[];
}

export type ToServers = { id: number; cmd: "stats" };
export type FromServers =
  | { ready: true }
  | { failed: string }
  | { id: number; stats: Record<string, ReturnType<Impairer["stats"]>> };

const config = JSON.parse(process.env.RPNL_SERVERS ?? "{}") as ServersConfig;
const send = (m: FromServers): void => {
  process.send?.(m);
};

const closers: (() => Promise<void>)[] = [];
const impairers = new Map<string, Impairer>();

async function main(): Promise<void> {
  for (const p of config.profiles) {
    const registry: RunningRegistry = await startRegistry({
      port: p.registryPort,
      host: config.host,
      env: p.env,
      log: () => {},
    });
    closers.push(() => registry.close());
    const web: StaticServer = await startStatic({ registryUrl: registry.url, host: config.host, port: p.staticPort });
    closers.push(() => web.close());
  }
  for (const i of config.impairers) {
    const imp = await startImpairer(i);
    impairers.set(i.name, imp);
    closers.push(() => imp.close());
  }
  send({ ready: true });
}

async function stop(): Promise<void> {
  const t = setTimeout(() => process.exit(0), 3000);
  await Promise.allSettled(closers.map((c) => c()));
  clearTimeout(t);
  process.exit(0);
}

process.on("message", (m: ToServers) => {
  if (m.cmd === "stats") send({ id: m.id, stats: Object.fromEntries([...impairers].map(([k, v]) => [k, v.stats()])) });
});
process.on("disconnect", () => void stop());
process.on("SIGTERM", () => void stop());

main().catch((e: unknown) => {
  send({ failed: e instanceof Error ? e.message : String(e) });
  void stop();
});
