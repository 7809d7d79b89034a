/**
 * The drop-in builds of <registry-peer> (Lit bundled inside, minified):
 *   dist/registry-peer.js       one ES module for <script type="module" src>
 *   dist/registry-peer.iife.js  a classic script for <script src> (global `RegistryPeer`)
 * The npm build (Lit as an import, .d.ts) is tsc with tsconfig.build.json: see `npm run build`.
 */
import { defineConfig } from "vite";

export default defineConfig({
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
