// custom-elements.json is what tools read (editors, Storybook, framework wrappers): it must be
// valid against the Custom Elements Manifest schema, point to files the package ships, type
// every event's detail, and list only the public API (issue #12, point 5).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { Ajv } from "ajv";

const ROOT = new URL("../..", import.meta.url).pathname;
const require = createRequire(import.meta.url);
const read = (p: string) => JSON.parse(readFileSync(`${ROOT}/${p}`, "utf8"));

interface Decl { name: string; customElement?: boolean; members?: { name: string; privacy?: string }[]; events?: { name: string; type?: { text: string } }[] }
interface Manifest { modules: { path: string; declarations?: Decl[]; exports?: { declaration: { module?: string } }[] }[] }

const manifest: Manifest = read("custom-elements.json");
const pkg = read("package.json");

test("custom-elements.json validates against the custom-elements-manifest schema", () => {
  const schema = require("custom-elements-manifest/schema.json");
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(manifest), JSON.stringify(validate.errors, null, 1));
  assert.equal(pkg.customElements, "./custom-elements.json");
  assert.ok(pkg.files.includes("custom-elements.json"));
});

test("every path in the manifest is a file the package ships (dist/lib), never src/", () => {
  if (!existsSync(`${ROOT}/dist/lib/element/registry-peer.js`)) {
    const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" });
    assert.equal(r.status, 0, "npm run build");
  }
  const paths = new Set<string>();
  for (const m of manifest.modules) {
    paths.add(m.path);
    for (const e of m.exports ?? []) if (e.declaration.module) paths.add(e.declaration.module);
  }
  assert.ok(paths.size >= 2);
  for (const p of paths) {
    assert.match(p, /^dist\/lib\/.+\.js$/, p);
    assert.ok(pkg.files.some((f: string) => p.startsWith(f)), `${p} is in package.json "files"`);
    assert.ok(existsSync(`${ROOT}/${p}`), `${p} exists after npm run build`);
  }
});

test("the element lists its public API only, and types every event's detail", () => {
  const el = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.customElement);
  assert.ok(el, "a custom element declaration");
  const names = el.members!.map((m) => m.name);
  for (const m of el.members!) {
    assert.equal(m.privacy, undefined, `${m.name} is ${m.privacy}`);
    assert.doesNotMatch(m.name, /^[#_]/);
  }
  for (const api of ["baseUrl", "role", "strings", "debug", "phase", "state", "createRoom", "join", "connect", "send", "close"]) assert.ok(names.includes(api), api);
  const events = Object.fromEntries(el.events!.map((e) => [e.name, e.type?.text]));
  assert.deepEqual(Object.keys(events).sort(), ["drain", "packet", "peer-close", "peer-error", "peer-open", "phase-change", "room-created"]);
  const dts = readFileSync(`${ROOT}/dist/lib/element/events.d.ts`, "utf8");
  for (const [name, type] of Object.entries(events)) {
    const m = /^CustomEvent<(\w+)>$/.exec(type ?? "");
    assert.ok(m, `${name}: ${type}`);
    if (m[1] !== "void") assert.match(dts, new RegExp(`export interface ${m[1]}\\b`), `${m[1]} is exported by events.d.ts`);
    // The same type as HTMLElementEventMap says.
    assert.match(dts, new RegExp(`"?${name}"?: CustomEvent<${m[1]}>`), `${name} in HTMLElementEventMap`);
  }
});
