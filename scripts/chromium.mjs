// Finds Debian's Chromium for the browser suites; installs it with apt when it can.
// Never downloads a browser build (this network only reaches npm and Debian).
import { existsSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";

/** Flags every launch needs here: root, closed network, no GPU. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function findChromium() {
  if (process.env.CHROME_PATH) return existsSync(process.env.CHROME_PATH) ? process.env.CHROME_PATH : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Returns the executable path, installing Debian's chromium first if needed and possible. */
export function ensureChromium({ log = console.log } = {}) {
  const found = findChromium();
  if (found) return found;
  if (process.env.CHROME_PATH) {
    throw new Error(`CHROME_PATH=${process.env.CHROME_PATH} does not exist: point it at a Chromium/Chrome binary.`);
  }
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      "Chromium not found: install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROME_PATH to a Chromium binary.",
    );
  }
  log(
    "[setup] Chromium not found at /usr/bin/chromium: installing Debian's 'chromium' package with apt-get (one time)…",
  );
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const now = findChromium();
  if (!now) throw new Error("apt-get installed chromium but no binary was found at /usr/bin/chromium.");
  log(`[setup] Installed Chromium at ${now}.`);
  return now;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const p = ensureChromium();
  console.log(p);
}
