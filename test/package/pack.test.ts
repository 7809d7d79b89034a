/**
 * The npm package as a page author gets it: `npm pack` → install the tarball into a fresh
 * project outside this repository → what it ships, what it installs, a Vite app built on it and
 * run in Chromium, the React/Vue typings from the package, the `registry-peer` bin, and the
 * Worker module with the example wrangler config.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";
import { API_VERSION, HEADERS } from "../../src/protocol/index.ts";
import { ensureBuilt, NPM, ROOT, run, serveDir, startBin } from "./helpers.ts";

interface ChromiumModule {
  ensureChromium(): string;
  CHROMIUM_ARGS: string[];
}

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  sideEffects: string[];
  exports: Record<string, string | Record<string, string>>;
  customElements: string;
  main: string;
  types: string;
};

/** sideEffects also names the same two modules under src/ (bundles built inside this repository). */
const shippedSideEffects = () => pkg.sideEffects.filter((p) => !p.startsWith("./src/"));

let work: string;
let app: string;
/** Paths in the tarball, relative to the package root. */
let packed: Set<string>;
let installed: string;

before(async () => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "registry-peer-pack-"));
  const [info] = JSON.parse(run(NPM, ["pack", "--json", "--pack-destination", work], { cwd: ROOT })) as {
    filename: string;
    files: { path: string }[];
  }[];
  assert.ok(info, "npm pack --json printed nothing");
  packed = new Set(info.files.map((f) => f.path));
  app = join(work, "app");
  mkdirSync(join(app, "src"), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pack-app", private: true, type: "module" }));
  run(NPM, ["install", join(work, info.filename), "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: app,
  });
  installed = join(app, "node_modules/registry-peer");
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the tarball ships every file package.json points at, and no sources", () => {
  const targets = [
    pkg.main,
    pkg.types,
    pkg.customElements,
    ...Object.values(pkg.bin),
    ...shippedSideEffects(),
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e))),
  ];
  for (const t of targets) assert.ok(packed.has(t.replace(/^\.\//, "")), `${t} is not in the tarball`);
  for (const f of [
    "LICENSE",
    "README.md",
    "package.json",
    "dist/server/worker.js",
    "dist/server/wrangler.example.jsonc",
  ]) {
    assert.ok(packed.has(f), `${f} is not in the tarball`);
  }
  const sources = [...packed].filter(
    (p) => /^(src|server|test|bench|scripts)\//.test(p) || (p.endsWith(".ts") && !p.endsWith(".d.ts")),
  );
  assert.deepEqual(sources, [], "sources in the tarball");
  assert.match(readFileSync(join(installed, "LICENSE"), "utf8"), /^MIT License/);
});

test("no browser file in the package carries server code; the server files do", () => {
  const SERVER_ONLY = ["x-forwarded-for", "DurableObject", "valibot", "HTTPException"];
  const js = [...packed].filter((p) => p.endsWith(".js"));
  const server = js.filter((p) => p.startsWith("dist/server/"));
  assert.deepEqual(server.sort(), ["dist/server/registry.js", "dist/server/worker.js"]);
  for (const p of js) {
    const text = readFileSync(join(installed, p), "utf8");
    const found = SERVER_ONLY.filter((needle) => text.includes(needle));
    if (server.includes(p)) assert.ok(found.length > 0, `${p} does not look like the server`);
    else assert.deepEqual(found, [], `server code in the browser file ${p}`);
  }
});

test("the committed custom-elements.json is the one the build generates", () => {
  // The build (`npm run analyze`) rewrites it; a difference from git's copy is an element change
  // whose manifest was not committed (tools and the shipped package would describe the old API).
  const inGit = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { cwd: ROOT, encoding: "utf8" });
  if (inGit.status !== 0 || inGit.stdout.trim() !== "true") return;
  const diff = spawnSync("git", ["diff", "--stat", "--exit-code", "--", "custom-elements.json"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(
    diff.status,
    0,
    `custom-elements.json differs from git's copy; commit the regenerated file:\n${diff.stdout}`,
  );
});

test("every file that registers the element is listed in sideEffects, and the list has nothing else", () => {
  const registering = [...packed].filter(
    (p) => p.endsWith(".js") && readFileSync(join(installed, p), "utf8").includes("customElements.define"),
  );
  assert.ok(registering.length >= 3, `expected the element module and both drop-ins, found ${registering.join(", ")}`);
  const listed = new Set(shippedSideEffects().map((p) => p.replace(/^\.\//, "")));
  for (const p of registering) assert.ok(listed.has(p), `${p} defines the element but is not in sideEffects`);
  // The entry that `import "registry-peer"` loads must keep its import of the registering module.
  assert.ok(listed.has(pkg.main.replace(/^\.\//, "")), "the main entry must be in sideEffects");
  for (const p of listed) {
    const isEntry = p === pkg.main.replace(/^\.\//, "");
    assert.ok(isEntry || registering.includes(p), `${p} is in sideEffects but registers nothing`);
  }
  // The src/ entries mirror the lib ones exactly (dist/lib/x.js is built from src/x.ts).
  const fromSrc = pkg.sideEffects
    .filter((p) => p.startsWith("./src/"))
    .map((p) => p.replace(/^\.\/src\//, "dist/lib/").replace(/\.ts$/, ".js"));
  assert.deepEqual(fromSrc.sort(), [...listed].filter((p) => p.startsWith("dist/lib/")).sort());
});

test("the shipped README links only to files in the package (or to absolute URLs)", () => {
  const readme = readFileSync(join(installed, "README.md"), "utf8");
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)|<img[^>]*\ssrc="([^"]+)"/g)].map((m) => (m[1] ?? m[2])!);
  const local = targets
    .filter((t) => !/^(https?:|mailto:|#)/.test(t))
    .map((t) => t.split("#")[0]!.replace(/^\.\//, ""));
  const missing = local.filter((t) => !packed.has(t));
  assert.deepEqual(missing, [], "README links to files that are not in the package");
});

test("installing it brings lit and nothing of the server (hono, @hono/node-server, valibot)", () => {
  assert.deepEqual(Object.keys(pkg.dependencies), ["lit"]);
  assert.match(pkg.dependencies.lit!, /^\^3(\.|$)/);
  const top = readdirSync(join(app, "node_modules")).filter((n) => !n.startsWith("."));
  for (const name of ["hono", "@hono", "valibot", "react", "vue"])
    assert.ok(!top.includes(name), `${name} was installed`);
  assert.ok(top.includes("lit"), "lit was not installed");
});

test("a Vite app that imports the package builds and renders in Chromium, and the packed bin serves it a room", {
  timeout: 180_000,
}, async () => {
  writeFileSync(
    join(app, "index.html"),
    `<!doctype html><html><head><meta charset="utf-8"><title>pack</title></head><body><script type="module" src="/src/main.ts"></script></body></html>`,
  );
  // A bare import, as the README tells: if the registering modules were not side effects, the
  // bundler would drop it and the element would never be defined.
  writeFileSync(
    join(app, "src/main.ts"),
    `import "registry-peer";
import type { RoomCreatedDetail } from "registry-peer";
const seen: string[] = [];
(window as unknown as { seen: string[] }).seen = seen;
const el = document.createElement("registry-peer");
const registry = new URLSearchParams(location.search).get("registry");
if (registry) {
  el.baseUrl = registry;
  el.role = "host";
  el.autoConnect = true;
}
el.addEventListener("room-created", (e) => seen.push("room-created:" + (e as CustomEvent<RoomCreatedDetail>).detail.code));
el.addEventListener("peer-error", (e) => seen.push("peer-error:" + e.detail.code));
document.body.append(el);
`,
  );
  run(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], { cwd: app });
  const js = readdirSync(join(app, "dist/assets")).filter((f) => f.endsWith(".js"));
  const bundle = js.map((f) => readFileSync(join(app, "dist/assets", f), "utf8")).join("\n");
  assert.ok(bundle.includes("registry-peer"), "the app bundle does not contain the element");
  for (const serverOnly of ["x-forwarded-for", "DurableObject", "valibot", "LIMIT_CREATE_PER_MIN"]) {
    assert.ok(!bundle.includes(serverOnly), `server code ("${serverOnly}") in the browser bundle`);
  }

  const { ensureChromium, CHROMIUM_ARGS } = (await import("../../scripts/chromium.mjs" as string)) as ChromiumModule;
  const web = await serveDir(join(app, "dist"));
  const registry = await startBin(join(app, "node_modules/.bin/registry-peer"), {
    PORT: "0",
    HOST: "127.0.0.1",
    STUN_URLS: "",
  });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(`${web.url}/`);
    await page.waitForFunction(() => !!customElements.get("registry-peer"), null, { timeout: 20_000 });
    // Rendered: without a base-url the element's UI says which attribute is missing.
    await page.waitForFunction(
      () => /base-url/.test(document.querySelector("registry-peer")?.shadowRoot?.textContent ?? ""),
      null,
      { timeout: 20_000 },
    );

    await page.goto(`${web.url}/?registry=${encodeURIComponent(registry.url)}`);
    const seen = await page.waitForFunction(
      () => (window as unknown as { seen: string[] }).seen.join(" ") || false,
      null,
      { timeout: 30_000 },
    );
    assert.match(String(await seen.jsonValue()), /^room-created:[0-9A-Z]+$/);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await web.close();
    assert.equal(await registry.stop(), 0, `the bin did not stop cleanly on SIGTERM:\n${registry.output()}`);
  }
});

test("the packed bin: /health, the error envelope, --help, and a bad setting refused by name", {
  timeout: 60_000,
}, async () => {
  const bin = join(app, "node_modules/.bin/registry-peer");
  const help = spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 20_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /ALLOWED_ORIGINS/);
  assert.match(help.stdout, /HOST=0\.0\.0\.0/);

  const bad = spawnSync(bin, [], { encoding: "utf8", timeout: 20_000, env: { ...process.env, PORT: "eighty" } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /PORT/);

  const r = await startBin(bin, { PORT: "0", HOST: "127.0.0.1" });
  try {
    const health = await fetch(`${r.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const created = await fetch(`${r.url}/rooms`, {
      method: "POST",
      headers: { "content-type": "application/json", [HEADERS.version]: String(API_VERSION) },
      body: JSON.stringify({ hostUserName: "Ada" }),
    });
    assert.equal(created.status, 201);
    const nope = await fetch(`${r.url}/nope`);
    assert.equal(nope.status, 404);
    const body = (await nope.json()) as { error?: { code?: string } };
    assert.equal(typeof body.error?.code, "string");
  } finally {
    assert.equal(await r.stop(), 0);
  }
});

test("React 19, Preact and Vue typings from the installed package: TSX typechecks, mistakes are errors, and nothing without the import", {
  timeout: 120_000,
}, () => {
  const from = (f: string) => readFileSync(join(ROOT, "test/package/fixtures", f), "utf8");
  const rewrite = (text: string, map: Record<string, string>) => {
    for (const [a, b] of Object.entries(map)) {
      assert.ok(text.includes(a), `fixture no longer imports ${a}`);
      text = text.replaceAll(a, b);
    }
    return text;
  };
  const types = join(app, "types");
  mkdirSync(types, { recursive: true });
  writeFileSync(
    join(types, "react-types.tsx"),
    rewrite(from("react-types.tsx"), {
      '"../../../src/frameworks/react.ts"': '"registry-peer/react"',
      '"../../../src/element/registry-peer.ts"': '"registry-peer"',
    }),
  );
  writeFileSync(
    join(types, "vue-types.ts"),
    rewrite(from("vue-types.ts"), { '"../../../src/frameworks/vue.ts"': '"registry-peer/vue"' }),
  );
  writeFileSync(
    join(types, "preact-types.tsx"),
    rewrite(from("preact-types.tsx"), { '"../../../src/frameworks/preact.ts"': '"registry-peer/preact"' }),
  );
  writeFileSync(join(types, "plain.tsx"), `export const el = <registry-peer base-url="x" />;\n`);
  const nm = (p: string) => join(ROOT, "node_modules", p);
  const config = (include: string[]) => ({
    compilerOptions: {
      strict: true,
      target: "ES2022",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: ["ES2022", "DOM", "DOM.Iterable"],
      jsx: "react-jsx",
      noEmit: true,
      skipLibCheck: true,
      types: [],
      // React's, Vue's and Preact's types come from this repository (the app has neither installed).
      paths: {
        react: [nm("@types/react/index.d.ts")],
        "react/jsx-runtime": [nm("@types/react/jsx-runtime.d.ts")],
        vue: [nm("vue/dist/vue.d.mts")],
        preact: [nm("preact/src/index.d.ts")],
        "preact/jsx-runtime": [nm("preact/jsx-runtime/src/index.d.ts")],
      },
    },
    include,
  });
  writeFileSync(
    join(app, "tsconfig.types.json"),
    JSON.stringify(config(["types/react-types.tsx", "types/vue-types.ts", "types/preact-types.tsx", "src/main.ts"])),
  );
  writeFileSync(join(app, "tsconfig.plain.json"), JSON.stringify(config(["types/plain.tsx"])));
  const tsc = nm("typescript/bin/tsc");
  run(process.execPath, [tsc, "-p", "tsconfig.types.json"], { cwd: app });
  // The control: without `registry-peer/react`, React knows no <registry-peer>.
  const plain = spawnSync(process.execPath, [tsc, "-p", "tsconfig.plain.json"], { cwd: app, encoding: "utf8" });
  assert.notEqual(plain.status, 0);
  assert.match(plain.stdout, /registry-peer/);
});

test("the packed Worker runs under workerd with the example wrangler config, and wrangler deploys it (dry run)", {
  timeout: 180_000,
}, async () => {
  copyFileSync(join(installed, "dist/server/wrangler.example.jsonc"), join(app, "wrangler.jsonc"));
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const cfg = unstable_getMiniflareWorkerOptions(join(app, "wrangler.jsonc"));
  assert.equal(cfg.main, join(installed, "dist/server/worker.js"));
  const { Miniflare } = await import("miniflare");
  const persist = join(work, "mf");
  const mf = new Miniflare({
    ...(cfg.workerOptions as object),
    name: "registry-peer",
    modules: true,
    // The file as shipped, unbundled again (it is one ES module; cloudflare:* stay imports).
    script: readFileSync(cfg.main, "utf8"),
    defaultPersistRoot: persist,
  } as ConstructorParameters<typeof Miniflare>[0]);
  try {
    const health = await mf.dispatchFetch("http://localhost/health");
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const created = await mf.dispatchFetch("http://localhost/rooms", {
      method: "POST",
      headers: { "content-type": "application/json", [HEADERS.version]: String(API_VERSION) },
      body: JSON.stringify({ hostUserName: "Ada" }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    assert.match(((await created.json()) as { code: string }).code, /^[0-9A-Z]+$/);
  } finally {
    await mf.dispose();
  }

  const out = join(work, "deploy");
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out],
    {
      cwd: app,
      encoding: "utf8",
      timeout: 150_000,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
    },
  );
  const log = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, log);
  assert.match(log, /env\.ROOMS \(Room\)\s+Durable Object/);
  assert.match(log, /env\.LIMITER \(Limiter\)\s+Durable Object/);
  assert.ok(existsSync(join(out, "worker.js")));
});
