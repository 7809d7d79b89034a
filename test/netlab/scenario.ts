/**
 * Scenario plumbing shared by the lab's test files: one lab per file (started in before(),
 * skipped LOUDLY when this machine cannot run it), and a host + guest pair on the real
 * drop-in page (demo/plain.html: only the script tag and the element in markup), the host in
 * player 1's home network, the guest in player 2's.
 */
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { events, waitForEvent, type Recorded } from "../e2e/helpers.ts";
import { startLab, type Lab, type LabOptions } from "./lab.ts";
import { labUnavailable } from "./sys.ts";
import type { PlayerOptions } from "./page.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Why the lab is skipped on this machine (printed in a banner), or null when it runs. */
export async function skipReason(): Promise<string | null> {
  const why = process.env.NETLAB === "0" ? "NETLAB=0 in the environment" : await labUnavailable();
  if (why) {
    const line = "#".repeat(78);
    console.error(
      `\n${line}\n# NETLAB SKIPPED: ${why}.\n# The NAT lab (namespaces, NAT, coturn) did NOT run; nothing about real networks was tested.\n${line}\n`,
    );
  }
  return why;
}

/** Builds the drop-in once when dist/ is missing (npm test builds before this suite anyway). */
export function ensureBuilt(): void {
  if (existsSync(`${ROOT}/dist/registry-peer.js`)) return;
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("npm run build failed");
}

export async function openLab(opts: LabOptions): Promise<Lab> {
  ensureBuilt();
  return startLab(opts);
}

export interface Pair {
  host: Page;
  guest: Page;
  /** Epoch ms when the guest opened the share link. */
  joinedAt: number;
}

/** The host creates a room on `profile`'s demo page; the guest opens the share link. */
export async function startPair(
  lab: Lab,
  profile: string,
  hostOpts: PlayerOptions = {},
  guestOpts: PlayerOptions = hostOpts,
): Promise<Pair> {
  const host = await lab.player(0, "host", hostOpts);
  await host.goto(`${lab.origin(profile)}/demo/plain.html`);
  const created = await waitForEvent(host, "room-created", 15_000).catch(async (e: unknown) => {
    const ev = (await events(host)).map((x) => `${x.type} ${JSON.stringify(x.detail)}`);
    throw new Error(`no room-created: ${e instanceof Error ? e.message : String(e)}\nhost events: ${ev.join(" > ")}`);
  });
  const { shareUrl } = created.detail as { shareUrl: string };
  const guest = await lab.player(1, "guest", guestOpts);
  const joinedAt = Date.now();
  await guest.goto(shareUrl);
  return { host, guest, joinedAt };
}

/** What both pages recorded, for an assertion message that says what happened. */
export async function diagnose(p: Pair): Promise<string> {
  const one = async (page: Page) => {
    const ev = (await events(page))
      .filter((e) => e.type !== "drain")
      .map((e) =>
        e.type === "phase-change" ? (e.detail as { phase: string }).phase : `${e.type} ${JSON.stringify(e.detail)}`,
      );
    const cands = await page.evaluate(
      () => (window as unknown as { rp: { cands: { side: string; type: string; address: string }[] } }).rp.cands,
    );
    return `events: ${ev.join(" > ")}\n  candidates: ${cands.map((c) => `${c.side} ${c.type} ${c.address}`).join(", ")}`;
  };
  return `host ${await one(p.host)}\nguest ${await one(p.guest)}`;
}

/** Waits for peer-open on both sides; the failure message carries both pages' story. */
export async function waitOpen(p: Pair, timeoutMs: number): Promise<{ host: Recorded; guest: Recorded; ms: number }> {
  try {
    const [host, guest] = await Promise.all([
      waitForEvent(p.host, "peer-open", timeoutMs),
      waitForEvent(p.guest, "peer-open", timeoutMs),
    ]);
    return { host, guest, ms: Math.max(host.at, guest.at) - p.joinedAt };
  } catch (e) {
    throw new Error(
      `not open within ${timeoutMs} ms: ${e instanceof Error ? e.message : String(e)}\n${await diagnose(p)}`,
    );
  }
}

/** Waits for peer-close on both sides (never an open first); returns each side's events. */
export async function waitClosed(p: Pair, timeoutMs: number): Promise<{ host: Recorded[]; guest: Recorded[] }> {
  try {
    await Promise.all([waitForEvent(p.host, "peer-close", timeoutMs), waitForEvent(p.guest, "peer-close", timeoutMs)]);
  } catch (e) {
    throw new Error(
      `not closed within ${timeoutMs} ms: ${e instanceof Error ? e.message : String(e)}\n${await diagnose(p)}`,
    );
  }
  return { host: await events(p.host), guest: await events(p.guest) };
}
