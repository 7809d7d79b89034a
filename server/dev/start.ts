/**
 * `npm start`: the Registry (server/node.ts) plus a static server for the demo (index.html,
 * demo/, dist/), building the drop-in first when it is missing or older than src/.
 *
 *   PORT (8787) / HOST (127.0.0.1)  the Registry
 *   DEMO_PORT (8080)                the demo page (same HOST)
 *
 * `startStatic()` is exported for the e2e tests, which start both on port 0.
 */
import { createServer, type Server } from "node:http";
import { readFile, stat, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startRegistry } from "../node/registry.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

/** Only these top-level paths are served: the demo never exposes src/, server/ or .git. */
const SERVED = ["index.html", "demo", "dist", "docs", "favicon.ico"];

export interface StaticServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves index.html, demo/ and dist/ from `root`. In .html files the placeholder
 * `%REGISTRY_URL%` is replaced with `registryUrl`, so pages can name the Registry in markup
 * (the plain drop-in page has no script of its own).
 */
export async function startStatic(opts: {
  registryUrl: string;
  port?: number;
  host?: string;
  root?: string;
}): Promise<StaticServer> {
  const root = opts.root ?? ROOT;
  const host = opts.host ?? "127.0.0.1";
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      let path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      if (path.endsWith("/")) path += "index.html";
      const rel = normalize(path).replace(/^[/\\]+/, "");
      const file = resolve(root, rel);
      const top = rel.split(/[/\\]/)[0] ?? "";
      if (!file.startsWith(root + sep) || !SERVED.includes(top) || !(await stat(file).catch(() => null))?.isFile()) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
        return;
      }
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      let body: Buffer | string = await readFile(file);
      if (type.startsWith("text/html")) body = body.toString("utf8").replaceAll("%REGISTRY_URL%", opts.registryUrl);
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      if (!res.headersSent) res.writeHead(400, { "Content-Type": "text/plain" });
      res.end("bad request");
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestMtime(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Builds when dist/registry-peer.js is missing or older than anything under src/. */
export async function buildIfNeeded(root = ROOT): Promise<void> {
  const out = join(root, "dist", "registry-peer.js");
  if (existsSync(out) && (await stat(out)).mtimeMs >= (await newestMtime(join(root, "src")))) return;
  console.log("Building the drop-in (npm run build)…");
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build"], {
    cwd: root,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("npm run build failed");
}

async function main(): Promise<void> {
  await buildIfNeeded();
  const host = process.env.HOST || "127.0.0.1";
  const registry = await startRegistry({ port: Number(process.env.PORT ?? 8787), host, env: process.env });
  const registryUrl = registry.url.replace(/\/$/, "");
  const demo = await startStatic({ registryUrl, host, port: Number(process.env.DEMO_PORT ?? 8080) });
  console.log(`Registry: ${registryUrl}`);
  console.log(
    `Demo:     ${demo.url}/   (open it in two windows: create a room in one, open its share link in the other)`,
  );
  console.log(`Drop-in:  ${demo.url}/demo/plain.html`);
  const stop = () => {
    void Promise.all([demo.close(), registry.close()]).then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
