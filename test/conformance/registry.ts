/**
 * A real Node Registry for the conformance tests, started the documented way (README, "Running
 * it": `npm run registry` = `tsx server/node/cli.ts`, configured by environment variables,
 * printing `Registry listening on <url>`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface Registry {
  url: string;
  /** Every line the Registry printed (one JSON line per request, docs/protocol.md, Logging). */
  log: string[];
  close(): Promise<void>;
}

const root = fileURLToPath(new URL("../..", import.meta.url));

export async function startRegistry(env: Record<string, string>): Promise<Registry> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/node/cli.ts"], {
    cwd: root,
    // PORT=0: any free port; STUN_URLS empty: no traffic to public STUN servers (loopback only).
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", STUN_URLS: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Registry did not start within 20 s:\n${log.join("\n")}`)), 20_000);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        log.push(line);
        const m = /Registry listening on (\S+)/.exec(line);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      }
    };
    child.stdout!.on("data", onLine);
    child.stderr!.on("data", onLine);
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`Registry exited (${code}) before listening:\n${log.join("\n")}`));
    });
  });
  return {
    url,
    log,
    async close() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
