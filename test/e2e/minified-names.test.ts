// The typed errors keep their names in a minified bundle (minifiers rename classes, so a
// name taken from the class would read "h" in the drop-in). Bundles the client core the way
// an app or the drop-in would, minified, and checks every exported error class.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";

test("error classes keep their names when minified", async () => {
  const out = await build({
    entryPoints: ["src/client/index.ts"],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    write: false,
    platform: "neutral",
  });
  const code = out.outputFiles[0]!.text;
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as Record<
    string,
    unknown
  >;
  const classes = Object.entries(mod).filter(([name, v]) => typeof v === "function" && /Error$/.test(name));
  assert.ok(classes.length >= 20, `expected the error classes to be exported, got ${classes.length}`);
  for (const [name, Cls] of classes) {
    // RegistryError takes (code, message); every subclass takes (message).
    const err =
      name === "RegistryError"
        ? new (Cls as new (c: string, m: string) => Error)("unknown", "x")
        : new (Cls as new (m: string) => Error)("x");
    assert.equal(err.name, name, `${name} is named "${err.name}" in a minified bundle`);
  }
});
