// Finds Firefox (Debian's firefox-esr) for the cross-browser e2e tests; installs it with apt when
// it can, saying so. Never downloads a browser build (this network only reaches npm and Debian).
// Unlike Chromium, Firefox is optional: when it cannot be had, callers skip loudly with `why`.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

const CANDIDATES = ["/usr/bin/firefox-esr", "/usr/bin/firefox"];

export function findFirefox() {
  if (process.env.FIREFOX_PATH) return existsSync(process.env.FIREFOX_PATH) ? process.env.FIREFOX_PATH : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** `{ path }` when Firefox is there (installing Debian's firefox-esr first if needed), else `{ path: null, why }`. */
export function ensureFirefox({ log = console.log } = {}) {
  const found = findFirefox();
  if (found) return { path: found };
  if (process.env.FIREFOX_UNAVAILABLE) return { path: null, why: process.env.FIREFOX_UNAVAILABLE };
  if (process.env.FIREFOX_PATH) return { path: null, why: `FIREFOX_PATH=${process.env.FIREFOX_PATH} does not exist` };
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (!isRoot || !hasApt) {
    return { path: null, why: "Firefox not found (Debian/Ubuntu: sudo apt-get install -y firefox-esr, or set FIREFOX_PATH)" };
  }
  log("[setup] Firefox not found: installing Debian's 'firefox-esr' package with apt-get (one time)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Bounded: a stuck apt must not hang the suite.
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env, timeout: 300_000 });
  const install = update.status === 0
    ? spawnSync("apt-get", ["install", "-y", "-qq", "firefox-esr"], { stdio: "inherit", env, timeout: 600_000 })
    : update;
  const now = findFirefox();
  if (!now) return { path: null, why: `apt-get could not install firefox-esr (exit ${install.status ?? install.signal})` };
  log(`[setup] Installed Firefox at ${now}.`);
  return { path: now };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureFirefox();
  console.log(r.path ?? `no Firefox: ${r.why}`);
  process.exit(r.path ? 0 : 1);
}
