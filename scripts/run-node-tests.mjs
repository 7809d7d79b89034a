// Runs every *.test.ts under the given folders with Node's test runner (through tsx).
// Node 20's --test does not expand globs, so the file list is built here.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const dirs = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const extra = process.argv.slice(2).filter((a) => a.startsWith("--"));
const files = dirs.flatMap(walk).sort();
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(", ")}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...extra, ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
