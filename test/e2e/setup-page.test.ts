/**
 * Setup mistakes on a real page load (issue #12, point 1): attributes are checked once the page
 * has loaded, so a page whose own script sets base-url after the drop-in defined the element
 * gets no error, and a page that never sets it gets one config error and one console line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { events, player, setup, type Env } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

/** Opens `body` as a page on the static server's origin with the drop-in loaded first. */
async function open(body: string): Promise<{ page: Page; warnings: string[] }> {
  const page = await player(env, "setup");
  const warnings: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "warning") warnings.push(m.text());
  });
  const url = `${env.web.url}/__setup-test.html`;
  await page.route(url, (r) =>
    r.fulfill({ contentType: "text/html", body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title><script type="module" src="/dist/registry-peer.js"></script></head><body>${body}</body></html>` }),
  );
  await page.goto(url, { waitUntil: "load" });
  await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
  return { page, warnings };
}

describe("setup mistakes on a real page", () => {
  it("no base-url, ever: one peer-error config (base-url), one console warning, the UI says so", async () => {
    const { page, warnings } = await open(`<registry-peer role="host"></registry-peer>`);
    const errs = (await events(page, "peer-error")).map((e) => e.detail);
    assert.deepEqual(errs.map((e) => (e as { code: string; attribute: string }).attribute), ["base-url"]);
    assert.equal((errs[0] as { code: string }).code, "config");
    assert.equal(warnings.filter((w) => w.startsWith("<registry-peer>")).length, 1, warnings.join("\n"));
    assert.match(await page.locator("registry-peer [part~=status]").innerText(), /base-url/);
  });

  it("base-url set by the page's own script after the drop-in: no error, no warning", async () => {
    const { page, warnings } = await open(
      `<registry-peer role="host"></registry-peer><script type="module">document.querySelector("registry-peer").setAttribute("base-url", ${JSON.stringify(env.registry.url)});</script>`,
    );
    assert.deepEqual((await events(page, "peer-error")).map((e) => e.detail), []);
    assert.deepEqual(warnings.filter((w) => w.startsWith("<registry-peer>")), []);
    assert.equal(await page.locator("registry-peer button").first().innerText(), "Create room");
  });
});
