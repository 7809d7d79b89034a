// The property names the bundles shorten (scripts/mangle-names.mjs) never include a name that
// crosses a boundary: wire keys, public options and callbacks, the element's API, DOM, JS and
// Lit names. The boundary names are gathered here independently of the script (a plain walk of
// the files that define them), so a bug in the script's own reasoning shows up as a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { build } from "esbuild";
import { mangleNames } from "../../scripts/mangle-names.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const result = mangleNames(ROOT);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/**
 * Names declared as members (not TS-`private`, not #private) in the given files; with
 * `exportedClasses`, only the members of the exported classes (their public API).
 */
function members(paths: string[], opts: { includePrivate?: boolean; exportedClasses?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    const sf = ts.createSourceFile(p, readFileSync(p, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (
        opts.exportedClasses &&
        ts.isClassDeclaration(n) &&
        !ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      )
        return;
      if (opts.exportedClasses && !ts.isClassDeclaration(n) && !ts.isClassElement(n) && !ts.isSourceFile(n)) return;
      if (
        (ts.isPropertySignature(n) ||
          ts.isMethodSignature(n) ||
          ts.isPropertyDeclaration(n) ||
          ts.isMethodDeclaration(n) ||
          ts.isGetAccessorDeclaration(n) ||
          ts.isSetAccessorDeclaration(n) ||
          ts.isPropertyAssignment(n)) &&
        n.name &&
        (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name))
      ) {
        const priv = ts.canHaveModifiers(n) && ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
        if (opts.includePrivate || !priv) out.add(n.name.text);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

function assertNoneMangled(names: Iterable<string>, what: string): void {
  const leaked = [...names].filter((n) => result.regex.test(n));
  assert.deepEqual(leaked, [], `${what} would be mangled: ${leaked.join(", ")}`);
}

test("the regex is exactly the derived names, anchored", () => {
  assert.ok(result.names.length >= 10, `expected internal names to mangle, got ${result.names.length}`);
  for (const n of result.names) {
    assert.ok(result.regex.test(n), n);
    assert.ok(!result.regex.test(`${n}x`) && !result.regex.test(`x${n}`), `${n}: the regex is not anchored`);
  }
  assert.deepEqual(result.names, [...result.names].sort(), "names are sorted (deterministic output)");
});

test("wire keys (src/protocol) are never mangled", () => {
  const wire = members(files(join(ROOT, "src/protocol")), { includePrivate: true });
  assert.ok(wire.has("items") && wire.has("lastSeq") && wire.has("sdp"), "protocol members were read");
  assertNoneMangled(wire, "protocol member");
  assertNoneMangled(
    // hb, u, bye: the control channel's heartbeat (a mangled page talks to unmangled Node bots).
    ["items", "lastSeq", "sdp", "code", "message", "error", "candidate", "type", "seq", "token", "hb", "u", "bye"],
    "wire key",
  );
});

test("public client options, state and event callbacks are never mangled", () => {
  const pub = members([join(ROOT, "src/client/types.ts")], { includePrivate: true });
  assert.ok(pub.has("onOpen") && pub.has("baseUrl"), "types.ts members were read");
  assertNoneMangled(pub, "src/client/types.ts member");
  assertNoneMangled(
    [
      "onOpen",
      "onClose",
      "onError",
      "onMessage",
      "onStateChange",
      "baseUrl",
      "fetchImpl",
      "phase",
      "retryable",
      "retryAfterSec",
    ],
    "public name",
  );
  // RegistryClient's and the error classes' public members.
  const api = members([join(ROOT, "src/client/client.ts"), join(ROOT, "src/client/errors.ts")], {
    exportedClasses: true,
  });
  assert.ok(api.has("createRoom") && api.has("retryable"), "RegistryClient and error members were read");
  assertNoneMangled(
    members([join(ROOT, "src/client/client.ts"), join(ROOT, "src/client/errors.ts")], { exportedClasses: true }),
    "public client member",
  );
});

test("the entry points' export names (the classic script's global properties) are never mangled", async () => {
  for (const entry of ["src/element/index.ts", "src/client/index.ts"]) {
    const mod = (await import(join(ROOT, entry))) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 3, `${entry} exports were read`);
    assertNoneMangled(Object.keys(mod), `${entry} export`);
  }
});

test("the element's properties, methods, events and messages are never mangled", () => {
  const el = members(files(join(ROOT, "src/element")).filter((p) => !p.includes("/internal/")));
  assert.ok(el.has("baseUrl") && el.has("joinCode") && el.has("render"), "element members were read");
  assertNoneMangled(el, "element API member");
});

test("DOM, JS and Lit names are never mangled", () => {
  const lib = join(ROOT, "node_modules/typescript/lib");
  const dom = members(
    ["lib.dom.d.ts", "lib.es5.d.ts", "lib.es2015.promise.d.ts", "lib.es2015.collection.d.ts"].map((f) => join(lib, f)),
  );
  assert.ok(dom.size > 1000, "lib members were read");
  assertNoneMangled(dom, "DOM/JS member");
  assertNoneMangled(
    ["start", "stop", "close", "send", "set", "get", "reset", "then", "constructor", "handleEvent", "toJSON"],
    "DOM/JS name",
  );
  const lit = members(files(join(ROOT, "node_modules/@lit/reactive-element")).filter((p) => p.endsWith(".d.ts")));
  assert.ok(lit.has("hostConnected") && lit.has("requestUpdate"), "Lit members were read");
  assertNoneMangled(lit, "Lit member");
  assertNoneMangled(
    [
      "render",
      "updated",
      "firstUpdated",
      "willUpdate",
      "hostConnected",
      "hostDisconnected",
      "hostUpdate",
      "hostUpdated",
      "requestUpdate",
      "connectedCallback",
      "createRenderRoot",
    ],
    "Lit name",
  );
});

test("no mangled name can land on a short DOM or Lit name", () => {
  for (const n of ["id", "x", "y", "ok", "as", "dir", "key"])
    assert.equal(result.cache[n], n, `${n} is not reserved as a target`);
});

test("same source, same names, same bundle", async () => {
  const again = mangleNames(ROOT);
  assert.equal(again.regex.source, result.regex.source);
  assert.deepEqual(again.cache, result.cache);
  const bundle = async () =>
    (
      await build({
        entryPoints: [join(ROOT, "src/client/index.ts")],
        bundle: true,
        minify: true,
        format: "esm",
        target: "es2022",
        write: false,
        mangleProps: result.regex,
        mangleCache: { ...result.cache },
      })
    ).outputFiles[0]!.text;
  const [a, b] = [await bundle(), await bundle()];
  assert.equal(a, b);
  // The mangled core still exposes its public API under its real names.
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(a).toString("base64")}`)) as Record<
    string,
    { prototype: object }
  >;
  const proto = Object.getOwnPropertyNames(mod.RegistryClient!.prototype);
  for (const m of ["connect", "close", "send", "getState", "createRoom", "joinRoom"])
    assert.ok(proto.includes(m), `RegistryClient.${m} is missing`);
});
