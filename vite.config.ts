/**
 * The drop-in builds of <registry-peer> (Lit bundled inside, minified):
 *   dist/registry-peer.js       one ES module for <script type="module" src>
 *   dist/registry-peer.iife.js  a classic script for <script src> (global `RegistryPeer`)
 * The npm build (Lit as an import, .d.ts) is tsc with tsconfig.build.json: see `npm run build`.
 */
import { transform } from "esbuild";
import { minify } from "terser";
import { defineConfig, type Plugin } from "vite";
import { mangleNames } from "./scripts/mangle-names.mjs";
import { terserOptions } from "./scripts/terser-options.mjs";
import { minifyTemplates } from "./scripts/minify-templates.mjs";

/**
 * A second minifier pass with Terser over each finished chunk (scripts/terser-options.mjs, the
 * same pass bench/size.ts gives the client core): ~1.5 % fewer gzip bytes than the built-in
 * minifier alone (bench 5a/5b), with no change to what the code does.
 */
function terserPass(): Plugin {
  return {
    name: "terser-pass",
    async renderChunk(code, _chunk, options) {
      code = await mangleProps(code);
      const out = await minify(code, terserOptions(options.format === "es"));
      return out.code ?? null;
    },
  };
}

/**
 * Rolldown's minifier cannot shorten property names, so esbuild does it first over each chunk:
 * only the internal member names scripts/mangle-names.mjs derives from the source (never public
 * API, wire keys, DOM or Lit names). Same source, same names, same bytes.
 */
let mangle: ReturnType<typeof mangleNames> | undefined;
async function mangleProps(code: string): Promise<string> {
  mangle ??= mangleNames();
  const out = await transform(code, {
    loader: "js",
    mangleProps: mangle.regex,
    mangleCache: mangle.cache,
    legalComments: "none",
  });
  return out.code;
}

/** The element's html`…` and css`…` templates without their indentation (scripts/minify-templates.mjs). */
function templates(): Plugin {
  return {
    name: "minify-templates",
    transform(code, id) {
      return /\/src\/element\/.*\.ts$/.test(id) ? minifyTemplates(code, id) : null;
    },
  };
}

export default defineConfig({
  plugins: [templates(), terserPass()],
  // Only the library is built; index.html is served as is by server/dev/start.ts.
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2022",
    minify: true,
    sourcemap: false,
    copyPublicDir: false,
    reportCompressedSize: true,
    // Vite keeps whitespace in ES library builds (for other bundlers); this file is for browsers,
    // so neither do its /* @__PURE__ */ bundler hints need to stay (comments: false).
    rolldownOptions: { output: { minify: true, comments: false } },
    lib: {
      entry: "src/element/index.ts",
      name: "RegistryPeer",
      formats: ["es", "iife"],
      fileName: (format) => (format === "es" ? "registry-peer.js" : "registry-peer.iife.js"),
    },
  },
});
