/**
 * The pages of the browser benchmarks: bench/pages/ and dist/ from one loopback server on
 * port 0, cross-origin isolated (COOP + COEP) so that performance.now() in the pages has
 * µs resolution instead of the 100 µs steps of a normal page (the RTT figure needs it).
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

export interface BenchStatic {
  url: string;
  close(): Promise<void>;
}

export async function startBenchStatic(root: string): Promise<BenchStatic> {
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const rel = normalize(path).replace(/^[/\\]+/, "");
    const file = resolve(root, rel);
    const allowed = rel.startsWith(`bench${sep}pages${sep}`) || rel.startsWith(`dist${sep}`);
    if (!allowed || !file.startsWith(root + sep) || !(await stat(file).catch(() => null))?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": "no-store",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    });
    res.end(await readFile(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
