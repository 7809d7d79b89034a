// `npm test`: every suite the project has, in order, stopping at none so one run shows all.
// Setup first: find Chromium (or install Debian's with apt), never download a browser build.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ensureChromium } from "./chromium.mjs";
import { findFirefox } from "./firefox.mjs";
import { ensureSystemPackages } from "./setup.mjs";

ensureSystemPackages();
const chrome = ensureChromium();
console.log(`[setup] Chromium: ${chrome}`);
process.env.CHROME_PATH = chrome;
// Firefox (Firefox ↔ Chromium e2e): ensureSystemPackages installed firefox-esr if it could;
// without it those tests skip, saying why, and do not run apt again.
const firefox = findFirefox();
console.log(
  firefox
    ? `[setup] Firefox: ${firefox}`
    : "[setup] WARNING: no Firefox: the Firefox ↔ Chromium e2e tests will be SKIPPED",
);
if (firefox) process.env.FIREFOX_PATH = firefox;
else process.env.FIREFOX_UNAVAILABLE = "firefox-esr is missing and apt-get could not install it (see [setup] above)";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
/** [name, command, args, exists?] — a step whose test folder is absent is a failure, not a skip. */
const steps = [
  ["lint (Biome)", npm, ["run", "-s", "lint"]],
  ["typecheck", npm, ["run", "-s", "typecheck"]],
  ["server (node)", npm, ["run", "-s", "test:server:node"]],
  ["server (workerd)", npm, ["run", "-s", "test:server:workerd"]],
  ["client + element (Chromium)", npm, ["run", "-s", "test:browser"]],
  ["build", npm, ["run", "-s", "build"]],
  ["package (npm pack → Vite app, bin, Worker, typings)", npm, ["run", "-s", "test:package"]],
  // A peer written from docs/protocol.md alone against RegistryClient (~10 s).
  ["conformance (docs/protocol.md peer ↔ RegistryClient)", npm, ["run", "-s", "test:conformance"]],
  ["e2e (Chromium, Firefox, Node peers)", npm, ["run", "-s", "test:e2e"]],
  // Needs root and `ip netns`: otherwise it prints a NETLAB SKIPPED banner and passes as skipped.
  ["netlab (namespaces, NAT, coturn)", npm, ["run", "-s", "test:netlab"]],
];

const only = process.env.TEST_ONLY?.split(",").map((s) => s.trim());
let passed = 0;
let failed = 0;
const results = [];
for (const [name, cmd, args] of steps) {
  if (only && !only.some((o) => name.startsWith(o))) continue;
  console.log(`\n=== ${name} ===`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: "inherit", env: process.env });
  const ok = r.status === 0;
  ok ? passed++ : failed++;
  results.push(`${ok ? "ok  " : "FAIL"} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
console.log("\n=== summary ===");
for (const line of results) console.log(line);
console.log(`suites: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && existsSync("package.json") ? 0 : 1);
