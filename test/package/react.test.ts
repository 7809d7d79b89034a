/**
 * React 19 and <registry-peer>, in Chromium: test/package/fixtures/react-app.tsx (a host and a
 * guest element driven only by JSX props) bundled with esbuild, against a real Node Registry.
 * Properties must arrive as properties (objects included) and the lowercase event props must
 * fire; the React spelling (`onPacket`) must not, as the README says.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";
import { startRegistry } from "../../server/node/registry.ts";
import { ROOT, serveDir } from "./helpers.ts";

interface ChromiumModule {
  ensureChromium(): string;
  CHROMIUM_ARGS: string[];
}

test("a React 19 app: props reach <registry-peer> as properties, lowercase event props fire, two elements connect", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "registry-peer-react-"));
  const registry = await startRegistry({ port: 0, host: "127.0.0.1", env: { STUN_URLS: "" }, log: () => {} });
  let browser: Browser | undefined;
  let web: Awaited<ReturnType<typeof serveDir>> | undefined;
  try {
    await build({
      entryPoints: [join(ROOT, "test/package/fixtures/react-app.tsx")],
      outfile: join(dir, "app.js"),
      bundle: true,
      format: "esm",
      target: "es2022",
      jsx: "automatic",
      define: { "process.env.NODE_ENV": '"production"' },
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true, useDefineForClassFields: false } },
      logLevel: "warning",
    });
    writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><div id="root"></div><script type="module" src="/app.js"></script>`);
    web = await serveDir(dir);

    const { ensureChromium, CHROMIUM_ARGS } = (await import("../../scripts/chromium.mjs" as string)) as ChromiumModule;
    browser = await chromium.launch({ executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${web.url}/?registry=${encodeURIComponent(registry.url)}`);

    const log = () => page.evaluate(() => (window as unknown as { log: string[] }).log.slice());
    await page
      .waitForFunction(
        () => {
          const l = (window as unknown as { log: string[] }).log;
          return l.some((x) => x.startsWith("host packet")) && l.some((x) => x.startsWith("guest packet"));
        },
        null,
        { timeout: 60_000 },
      )
      .catch(async (e: unknown) => {
        throw new Error(`no packets both ways: ${(await log()).join(" | ")}; page errors: ${errors.join(" | ")}`, { cause: e });
      });
    const events = await log();
    assert.ok(events.some((x) => /^host room-created [0-9A-Z]+$/.test(x)), events.join(" | "));
    assert.ok(events.includes("host phase creating_room"), events.join(" | "));
    assert.ok(events.includes("host peer-open") && events.includes("guest peer-open"), events.join(" | "));
    assert.ok(events.includes("host packet from-guest true"), events.join(" | "));
    assert.ok(events.includes("guest packet from-host true"), events.join(" | "));
    assert.ok(!events.some((x) => x.includes("peer-error")), events.join(" | "));
    assert.ok(!events.includes("onPacket fired"), "the React spelling onPacket fired: update the README and the typings");

    const props = await page.evaluate(() => {
      const host = document.getElementById("host") as HTMLElementTagNameMap["registry-peer"];
      const guest = document.getElementById("guest") as HTMLElementTagNameMap["registry-peer"];
      return {
        baseUrl: host.baseUrl,
        role: host.role,
        unreliable: host.unreliable,
        autoConnect: host.autoConnect,
        answerTimeoutMs: host.clientOptions?.answerTimeoutMs,
        guestRoom: guest.roomCode,
        attrs: host.getAttributeNames(),
      };
    });
    assert.equal(props.baseUrl, registry.url);
    assert.equal(props.role, "host");
    assert.equal(props.unreliable, true);
    assert.equal(props.autoConnect, true);
    assert.equal(props.answerTimeoutMs, 45_000, "an object prop must arrive as a property");
    assert.match(props.guestRoom ?? "", /^[0-9A-Z]+$/);
    for (const a of ["baseurl", "clientoptions", "onpacket", "onpeer-open"]) assert.ok(!props.attrs.includes(a), `React set "${a}" as an attribute`);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await web?.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
