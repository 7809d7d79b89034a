/**
 * The workerd half of harness.ts: runs server/worker/worker.ts under workerd through Miniflare,
 * with the bindings, Durable Object classes (SQLite-backed) and vars that wrangler.jsonc
 * declares — wrangler's own converter reads the config, so tests exercise what
 * `wrangler deploy` / `wrangler dev` would run. A Miniflare instance starts in ~0.2 s
 * (`wrangler dev` takes ~2 s), so every startServer() gets a fresh runtime and fresh
 * storage, exactly like the Node runtime's fresh server: no state leaks between tests.
 * workerd-dev.test.ts drives the real `npm run dev:worker` separately.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";

const ROOT = resolve(import.meta.dirname, "../..");
export const WRANGLER_CONFIG = join(ROOT, "wrangler.jsonc");

export type EnvOverrides = Record<string, string | number | boolean | undefined>;

export interface WorkerdServer {
  url: string;
  runtime: "workerd";
  /** Lines the Worker and its Durable Objects wrote to stdout/stderr (console.*). */
  logs: string[];
  /** The Miniflare instance, for workerd-only tests that talk to a Durable Object directly. */
  miniflare: import("miniflare").Miniflare;
  close(): Promise<void>;
}

export interface WorkerdOptions {
  /**
   * Keep Durable Object storage in this directory (like `wrangler dev --persist-to`), so a
   * later startWorkerd() with the same directory sees the same rooms. Default: a fresh
   * temp dir removed on close.
   */
  persistDir?: string;
}

interface Prepared {
  script: string;
  workerOptions: Record<string, unknown> & { bindings?: Record<string, unknown> };
}

let prepared: Promise<Prepared> | undefined;

/** Reads wrangler.jsonc and bundles its `main` once per test process. */
function prepare(): Promise<Prepared> {
  prepared ??= (async () => {
    const [{ unstable_getMiniflareWorkerOptions }, { build }] = await Promise.all([
      import("wrangler"),
      import("esbuild"),
    ]);
    const cfg = unstable_getMiniflareWorkerOptions(WRANGLER_CONFIG);
    if (!cfg.main) throw new Error("wrangler.jsonc has no main");
    // The same shape wrangler's bundler produces: one ES module, workerd conditions,
    // runtime modules (cloudflare:*) left as imports.
    const out = await build({
      entryPoints: [cfg.main],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      external: ["cloudflare:*"],
      define: cfg.define,
      write: false,
      logLevel: "silent",
    });
    const script = out.outputFiles[0]?.text;
    if (!script) throw new Error(`esbuild produced no output for ${cfg.main}`);
    return { script, workerOptions: cfg.workerOptions as unknown as Prepared["workerOptions"] };
  })();
  return prepared;
}

function collectLines(stream: Readable, into: string[]): void {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trimEnd();
      buf = buf.slice(i + 1);
      if (line) into.push(line);
    }
  });
  stream.on("end", () => {
    if (buf.trim()) into.push(buf.trim());
  });
}

export async function startWorkerd(env: EnvOverrides = {}, opts: WorkerdOptions = {}): Promise<WorkerdServer> {
  const { script, workerOptions } = await prepare();
  const { Miniflare } = await import("miniflare");

  // Config overrides travel as vars, exactly like `wrangler dev --var NAME:VALUE`.
  const bindings: Record<string, unknown> = { ...(workerOptions.bindings ?? {}) };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete bindings[k];
    else bindings[k] = String(v);
  }

  const ownDir = opts.persistDir === undefined;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "registry-workerd-"));
  const logs: string[] = [];
  const mf = new Miniflare({
    ...(workerOptions as object),
    name: "registry-peer",
    bindings,
    modules: true,
    script,
    host: "127.0.0.1",
    port: 0,
    // Storage on disk, as in `wrangler dev --persist-to`: what the restart tests rely on.
    defaultPersistRoot: persistDir,
    durableObjectsPersist: join(persistDir, "do"),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      collectLines(stdout, logs);
      collectLines(stderr, logs);
    },
  } as ConstructorParameters<typeof Miniflare>[0]);
  let url: URL;
  try {
    url = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  let closed = false;
  return {
    url: url.origin,
    runtime: "workerd",
    logs,
    miniflare: mf,
    async close() {
      if (closed) return;
      closed = true;
      await mf.dispose();
      if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close): for tools that need a number. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface WranglerDev {
  url: string;
  /** wrangler's stdout + stderr, for diagnosing a failed start. */
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts the real `npm run dev:worker -- <args>` (wrangler dev under workerd, offline) on a
 * free port and waits until GET /health answers. The process runs in its own process
 * group so close() ends npm, wrangler and both workerd processes together.
 */
export async function startWranglerDev(
  extraArgs: string[],
  opts: { persistDir: string; timeoutMs?: number },
): Promise<WranglerDev> {
  const { spawn } = await import("node:child_process");
  const port = await freePort();
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const child = spawn(
    npm,
    [
      "run",
      "-s",
      "dev:worker",
      "--",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      opts.persistDir,
      ...extraArgs,
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let alive = true;
  // If the test process dies first, do not leave a detached wrangler/workerd behind.
  const killOnExit = () => {
    try {
      if (alive && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  };
  process.once("exit", killOnExit);
  child.once("exit", () => {
    alive = false;
    process.off("exit", killOnExit);
  });

  const close = async () => {
    if (alive && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const t = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    // workerd children may outlive their parent by a moment: wait for the group to empty.
    for (let i = 0; i < 50 && child.pid !== undefined; i++) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (true) {
    if (!alive) throw new Error(`wrangler dev exited before it was ready:\n${out}`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`wrangler dev was not ready within ${opts.timeoutMs ?? 60_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, output: () => out, close };
}
