// `npm test`'s setup: the system packages the suites drive, from Debian's apt only (this network
// reaches npm and Debian, nothing else; never a browser download). Chromium is required; the
// others are for the suites that need them (Firefox e2e, the NAT lab), which say loudly when
// they cannot run.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** apt package -> the binary that shows it is there. */
export const SYSTEM_PACKAGES = {
  chromium: ["/usr/bin/chromium"],
  "firefox-esr": ["/usr/bin/firefox-esr"],
  coturn: ["/usr/bin/turnserver"],
  iptables: ["/usr/sbin/iptables", "/sbin/iptables"],
};

const has = (bins) => bins.some((b) => existsSync(b));

/** Installs what is missing when it can (root + apt); returns the packages still missing. */
export function ensureSystemPackages({ log = console.log, want = Object.keys(SYSTEM_PACKAGES) } = {}) {
  const missing = want.filter((p) => !has(SYSTEM_PACKAGES[p]));
  if (missing.length === 0) {
    log(`[setup] system packages present: ${want.join(", ")}`);
    return [];
  }
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (!isRoot || !hasApt) {
    log(`[setup] MISSING ${missing.join(", ")} and cannot install them (${isRoot ? "no apt-get" : "not root"}).`);
    return missing;
  }
  log(`[setup] installing Debian packages with apt-get: ${missing.join(", ")} …`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  // One package at a time: one that cannot be had does not keep the others out.
  for (const p of missing) spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", p], { stdio: "inherit", env });
  const still = missing.filter((p) => !has(SYSTEM_PACKAGES[p]));
  const got = missing.filter((p) => !still.includes(p));
  if (got.length) log(`[setup] installed with apt-get: ${got.join(", ")}`);
  if (still.length) log(`[setup] MISSING after apt-get: ${still.join(", ")} — the suites that need them will say so.`);
  return still;
}
