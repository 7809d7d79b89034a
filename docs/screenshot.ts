/**
 * Regenerates the README screenshots with headless Chromium (`npx tsx docs/screenshot.ts`):
 *   docs/screenshot.png            the demo, host side, room created (codes, share link, progress)
 *   docs/screenshot-connected.png  the demo, host side, after the guest joined through the link
 * Starts its own Registry and static server on port 0; builds the drop-in first if needed.
 */
import { chromium } from "playwright-core";
import { fileURLToPath } from "node:url";
import { startRegistry } from "../server/node/registry.ts";
import { buildIfNeeded, startStatic } from "../server/dev/start.ts";

const { ensureChromium, CHROMIUM_ARGS } = (await import("../scripts/chromium.mjs" as string)) as { ensureChromium(): string; CHROMIUM_ARGS: string[] };
const out = (name: string) => fileURLToPath(new URL(name, import.meta.url));

await buildIfNeeded();
const registry = await startRegistry({ port: 0, env: { STUN_URLS: "" }, log: () => {} });
const web = await startStatic({ registryUrl: registry.url });
const browser = await chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS });
try {
  const viewport = { width: 1100, height: 720 };
  const host = await (await browser.newContext({ viewport, deviceScaleFactor: 1 })).newPage();
  await host.goto(`${web.url}/`);
  await host.locator("registry-peer input[name=name]").fill("Alice");
  await host.locator("registry-peer button", { hasText: "Create room" }).click();
  const share = host.locator("registry-peer input[name=share]");
  await share.waitFor();
  await host.waitForTimeout(300);
  await host.screenshot({ path: out("screenshot.png") });

  const guest = await (await browser.newContext({ viewport })).newPage();
  await guest.goto(await share.inputValue());
  await guest.locator("registry-peer input[name=name]").fill("Bob");
  await guest.locator("registry-peer button", { hasText: "Join room" }).click();
  await host.waitForFunction(() => document.querySelector("registry-peer")?.phase === "open");
  await guest.locator("#chat-input").fill("gl hf!");
  await guest.locator("#chat-send").click();
  // Move both dots a little so the arena shows a game in progress.
  await host.locator("#arena").focus();
  await host.keyboard.down("ArrowRight");
  await guest.locator("#arena").focus();
  await guest.keyboard.down("ArrowUp");
  await host.waitForTimeout(1200);
  await host.keyboard.up("ArrowRight");
  await guest.keyboard.up("ArrowUp");
  await host.waitForTimeout(1200);
  await host.screenshot({ path: out("screenshot-connected.png") });
  console.log("wrote docs/screenshot.png and docs/screenshot-connected.png");
} finally {
  await browser.close();
  await web.close();
  await registry.close();
}
