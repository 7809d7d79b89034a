// web-test-runner config for every browser suite: the client (test/client, owned by the client
// engineer) and the element (test/element, owned by the element engineer). Shared file: keep it
// readable; each side adds its own plugins/files in its own clearly marked block below.
import { spawn } from "node:child_process";
import { esbuildPlugin } from "@web/dev-server-esbuild";
import { playwrightLauncher } from "@web/test-runner-playwright";
import { ensureChromium, CHROMIUM_ARGS } from "./scripts/chromium.mjs";

// ---- client: real Registries for test/client/integration.test.ts -----------------------------
// Started lazily (first GET /__registry.json), so runs without the integration test start nothing.
// Two processes: one with every feature, one with REGISTRY_FEATURES=none (MVP path). Port 0 only.
function startRegistryProcess(extraEnv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/node.ts"], {
      env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error(`registry did not start: ${out}`)); }, 20000);
    const onData = (d) => {
      out += d;
      const m = /Registry listening on (\S+)/.exec(out);
      if (m) { clearTimeout(timer); child.stdout.off("data", onData); child.stdout.resume(); resolve({ url: m[1].replace(/\/$/, ""), child }); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => { out += d; });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`registry exited (${code}): ${out}`)); });
  });
}

function registryPlugin() {
  let started = null;
  return {
    name: "client-registries",
    async serve(context) {
      if (context.path !== "/__registry.json") return;
      started ??= Promise.all([startRegistryProcess({}), startRegistryProcess({ REGISTRY_FEATURES: "none" })]).then(
        ([full, none]) => ({ full, none }),
        (err) => ({ error: String(err && err.message || err) }),
      );
      const r = await started;
      const body = r.error ? { error: r.error } : { full: r.full.url, none: r.none.url };
      return { body: JSON.stringify(body), type: "application/json" };
    },
    async serverStop() {
      const r = started && (await started);
      if (r && !r.error) for (const { child } of [r.full, r.none]) child.kill();
    },
  };
}
// ---- end client block --------------------------------------------------------------------------

// ---- element: one real Registry for test/element (GET /__element-registry.json) ---------------
// Rate limits off (0) so many rooms per minute are fine; started lazily like the client's.
function elementRegistryPlugin() {
  let started = null;
  return {
    name: "element-registry",
    async serve(context) {
      if (context.path !== "/__element-registry.json") return;
      started ??= startRegistryProcess({
        LIMIT_CREATE_PER_MIN: "0", LIMIT_PUBLIC_PER_MIN: "0", LIMIT_JOIN_PER_MIN: "0",
        LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "0", LIMIT_TOKEN_PER_MIN: "0",
      }).catch((err) => ({ error: String(err && err.message || err) }));
      const r = await started;
      return { body: JSON.stringify(r.error ? { error: r.error } : { url: r.url }), type: "application/json" };
    },
    async serverStop() {
      const r = started && (await started);
      if (r && !r.error) r.child.kill();
    },
  };
}
// ---- end element block ---------------------------------------------------------------------------

// Only the client's orchestration files carry the 100% branch bar (client-spec §14); the
// threshold is enforced by test/client/check-coverage.mjs after `wtr --coverage` (npm run test:browser).
export default {
  files: ["test/client/**/*.test.ts", "test/element/**/*.test.ts"],
  nodeResolve: true,
  concurrency: 1,
  testFramework: { config: { timeout: 30000 } },
  browsers: [
    playwrightLauncher({
      product: "chromium",
      launchOptions: { executablePath: ensureChromium(), headless: true, args: CHROMIUM_ARGS },
    }),
  ],
  plugins: [
    esbuildPlugin({ ts: true, target: "es2022", tsconfig: "tsconfig.json" }),
    registryPlugin(),
    elementRegistryPlugin(),
  ],
  coverageConfig: {
    include: ["src/**/*.ts"],
    report: true,
    reportDir: "coverage/browser",
    reporters: ["json-summary", "json", "text-summary"],
  },
};
