/**
 * Figure 5: bytes on the wire. Sizes are deterministic for one build, so each is measured once
 * (runs = 1) instead of pretending 15 identical measurements are a distribution.
 *   drop-in       dist/registry-peer.js (and .iife.js) as Vite built them (Lit inside, minified)
 *   npm element   dist/lib/element/index.js bundled and minified with Lit left external
 *                 (what the element adds to an app that already has Lit)
 *   client core   RegistryClient + browserDefaults from dist/lib/client, bundled and minified as
 *                 the drop-in is: esbuild with its property mangling (scripts/mangle-names.mjs),
 *                 then its Terser pass (scripts/terser-options.mjs)
 * gzip is zlib level 9; KB = 1000 bytes (the stricter reading of the targets).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { build } from "esbuild";
import { minify } from "terser";
import { mangleNames } from "../scripts/mangle-names.mjs";
import { terserOptions } from "../scripts/terser-options.mjs";
import type { Figure } from "./lib/stats.ts";

const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;
const br = (b: Uint8Array) => brotliCompressSync(b).length;

/**
 * `mangle`: minify the way the drop-in build does: shorten the internal member names
 * (scripts/mangle-names.mjs: derived from the source, never public API, wire keys, DOM or Lit
 * names), then the drop-in's Terser pass.
 */
async function bundle(root: string, contents: string, external: string[], mangle = false): Promise<Uint8Array> {
  const names = mangle ? mangleNames(root) : undefined;
  const out = await build({
    ...(names && { mangleProps: names.regex, mangleCache: names.cache }),
    stdin: { contents, resolveDir: root, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    external,
    write: false,
    logLevel: "silent",
  });
  const code = out.outputFiles[0]!.contents;
  if (!mangle) return code;
  // As shipped in the drop-in: its Terser pass too (vite.config.ts, scripts/terser-options.mjs).
  const t = await minify(new TextDecoder().decode(code), terserOptions(true));
  return new TextEncoder().encode(t.code!);
}

export async function sizeFigures(root: string): Promise<Figure[]> {
  const items: { id: string; name: string; bytes: Uint8Array; limitGz?: number }[] = [
    {
      id: "5a",
      name: "drop-in dist/registry-peer.js (ES module, Lit inside)",
      bytes: readFileSync(join(root, "dist/registry-peer.js")),
      limitGz: 15_000,
    },
    {
      id: "5b",
      name: "drop-in dist/registry-peer.iife.js (classic script)",
      bytes: readFileSync(join(root, "dist/registry-peer.iife.js")),
      limitGz: 15_000,
    },
    {
      id: "5c",
      name: "npm element build (dist/lib/element, Lit external)",
      bytes: await bundle(root, `export * from "./dist/lib/element/index.js";`, ["lit", "lit/*", "@lit/*"]),
    },
    {
      id: "5d",
      name: "client core (RegistryClient + browserDefaults from dist/lib/client, minified as in the drop-in: internal names mangled, Terser pass)",
      bytes: await bundle(
        root,
        `export { RegistryClient, browserDefaults } from "./dist/lib/client/index.js";`,
        [],
        true,
      ),
      limitGz: 6_000,
    },
  ];
  return items.map(({ id, name, bytes, limitGz }) => {
    const g = gz(bytes);
    return {
      id,
      name,
      unit: "bytes gzip",
      median: g,
      min: g,
      max: g,
      runs: 1,
      target: limitGz ? `≤ ${limitGz / 1000} KB gzip` : "–",
      met: limitGz ? g <= limitGz : null,
      note:
        id === "5a" ? "Deterministic for a build: measured once. gzip -9 (zlib level 9); KB = 1000 bytes." : undefined,
      extra: { minified: bytes.length, gzip: g, brotli: br(bytes) },
    } satisfies Figure;
  });
}
