// `npm run build:server`: the Registry as shipped in the npm package, bundled with esbuild so
// npm users install only `lit` (hono, @hono/node-server and valibot are inside these files):
//   dist/server/registry.js             the Node command (package.json "bin": registry-peer)
//   dist/server/worker.js               the Cloudflare Worker module (Room + Limiter DOs)
//   dist/server/wrangler.example.jsonc  wrangler.jsonc with `main` pointing at worker.js
// Browser bundles (vite.config.ts, tsconfig.build.json) never see server/: it is built here only.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const out = "dist/server";
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: "esm", target: "es2022", legalComments: "eof", logLevel: "warning" };

await build({
  ...common,
  entryPoints: ["server/node/cli.ts"],
  outfile: `${out}/registry.js`,
  platform: "node",
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
});

await build({
  ...common,
  entryPoints: ["server/worker/worker.ts"],
  outfile: `${out}/worker.js`,
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  external: ["cloudflare:*"],
});

// The example config is this repository's wrangler.jsonc (one source for bindings, migrations
// and vars) with the entry and the header rewritten for a project that installed the package.
const MAIN = '"main": "server/worker/worker.ts"';
let cfg = readFileSync("wrangler.jsonc", "utf8");
if (!cfg.includes(MAIN)) throw new Error(`build-server: wrangler.jsonc no longer has ${MAIN}; update scripts/build-server.mjs`);
cfg = cfg.replace(MAIN, '"main": "node_modules/registry-peer/dist/server/worker.js"');
const body = cfg.slice(cfg.indexOf("{"));
const header = `// The registry-peer Registry on Cloudflare Workers, from the npm package.
// Copy this file to your project as wrangler.jsonc, set ALLOWED_ORIGINS below, then:
//   npx wrangler@4.86.0 login && npx wrangler@4.86.0 deploy
// (4.86.0 is the last wrangler for Node 20; newer ones need Node 22.) Locally, offline:
//   npx wrangler@4.86.0 dev --local
`;
writeFileSync(`${out}/wrangler.example.jsonc`, header + body);
