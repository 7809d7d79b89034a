/**
 * The demo page on a 375 px wide phone screen (issue #12, point 4): no horizontal scrolling in
 * the host's idle view and its room view, and every control of the element at least 44 px tall.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { player, setup, waitForEvent, type Env } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

async function fits(page: Page, what: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `${what}: the page is ${scroll} px wide in a ${client} px viewport`);
  const small = await page.evaluate(() =>
    [...document.querySelector("registry-peer")!.shadowRoot!.querySelectorAll("button, input")]
      .map((c) => [c.outerHTML.slice(0, 50), c.getBoundingClientRect().height] as const)
      .filter(([, h]) => h < 44),
  );
  assert.deepEqual(small, [], `${what}: controls under 44 px`);
}

describe("demo page at 375 px", () => {
  it("fits without horizontal scroll, host idle and with a room; targets >= 44 px", async () => {
    const page = await player(env, "phone");
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${env.web.url}/`);
    await page.locator("registry-peer input[name=name]").waitFor();
    await fits(page, "idle");
    await page.locator("registry-peer input[name=name]").fill("Alice");
    await page.locator("registry-peer button", { hasText: "Create room" }).click();
    await waitForEvent(page, "room-created", 10_000);
    await page.locator("registry-peer input[name=share]").waitFor();
    await fits(page, "room");
  });
});
