/**
 * Plumbing for the package tests: the packed tarball installed into a throwaway project outside
 * this repository (so nothing resolves from our own node_modules by accident), a static server
 * for a built app, the packed `registry-peer` bin as a child process, and Debian's Chromium.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions & { cwd: string }): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000, ...opts, env: { ...process.env, NO_COLOR: "1", ...opts.env } });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${out.slice(-4000)}`);
  return String(r.stdout ?? "");
}

/** Builds dist/ once when it is missing (npm test builds before this suite anyway). */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, "dist/server/registry.js")) && existsSync(join(ROOT, "dist/lib/element/index.js"))) return;
  run(NPM, ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" });
}

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css" };

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves one directory's files (GET only) on 127.0.0.1, port 0. */
export async function serveDir(dir: string): Promise<Served> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = resolve(root, normalize(path.endsWith("/") ? `${path}index.html` : path).replace(/^[/\\]+/, ""));
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export interface BinRegistry {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM; resolves with the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

/** Spawns the installed bin with `env` on top of ours and waits (bounded) for its URL line. */
export function startBin(bin: string, env: Record<string, string>, timeoutMs = 20_000): Promise<BinRegistry> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(bin, [], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let exited: number | null | undefined;
    const exit = new Promise<number | null>((ok) => child.once("exit", (code) => ok((exited = code))));
    const stop = async () => {
      if (exited === undefined) child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      const code = await exit;
      clearTimeout(kill);
      return code;
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the bin printed no URL within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /Registry listening on (\S+)/.exec(out);
      if (m && exited === undefined) {
        clearTimeout(timer);
        resolveStart({ url: m[1]!, child, output: () => out, stop });
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the bin exited (${code}) before listening:\n${out}`));
    });
  });
}
