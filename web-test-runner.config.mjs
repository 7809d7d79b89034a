// web-test-runner config for every browser suite: the client (test/client) and the element
// (test/element), in Debian's Chromium, with real Node Registries started on demand.
import { spawn } from "node:child_process";
import { esbuildPlugin } from "@web/dev-server-esbuild";
import { playwrightLauncher } from "@web/test-runner-playwright";
import { ensureChromium, CHROMIUM_ARGS } from "./scripts/chromium.mjs";

/** `node server/node/cli.ts` on port 0; resolves with its URL (parsed from its first line). */
function startRegistryProcess(extraEnv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/node/cli.ts"], {
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

/**
 * Real Registries for the browser suites, each started lazily on the first GET of its JSON
 * path (runs that don't need one start nothing) and killed when the test server stops.
 * Each suite names the configurations it needs here; port 0 only.
 */
const LIMITS_OFF = {
  LIMIT_CREATE_PER_MIN: "0", LIMIT_PUBLIC_PER_MIN: "0", LIMIT_JOIN_PER_MIN: "0",
  LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "0", LIMIT_TOKEN_PER_MIN: "0",
  LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN: "0", LIMIT_PROBE_PER_MIN: "0",
};
const REGISTRIES = {
  // client: test/client/integration.test.ts: every feature, every one but `fast`, the MVP server.
  "/__registry.json": { full: {}, legacy: { REGISTRY_FEATURES: "longpoll,delta,batch,end,restart" }, none: { REGISTRY_FEATURES: "none" } },
  // element: test/element, rate limits off so many rooms per minute are fine.
  "/__element-registry.json": { url: LIMITS_OFF },
  // element: a Registry that does not allow the test page's origin (setup.test.ts).
  "/__strict-registry.json": { url: { ...LIMITS_OFF, ALLOWED_ORIGINS: "https://game.example" } },
};

function registriesPlugin() {
  const started = new Map(); // path → Promise<{ [name]: { url, child } } | { error }>
  return {
    name: "registries",
    async serve(context) {
      const spec = REGISTRIES[context.path];
      if (!spec) return;
      if (!started.has(context.path)) {
        const names = Object.keys(spec);
        started.set(
          context.path,
          Promise.all(names.map((n) => startRegistryProcess(spec[n]))).then(
            (procs) => Object.fromEntries(names.map((n, i) => [n, procs[i]])),
            (err) => ({ error: String((err && err.message) || err) }),
          ),
        );
      }
      const r = await started.get(context.path);
      const body = r.error ? { error: r.error } : Object.fromEntries(Object.entries(r).map(([n, p]) => [n, p.url]));
      return { body: JSON.stringify(body), type: "application/json" };
    },
    async serverStop() {
      for (const p of started.values()) {
        const r = await p;
        if (!r.error) for (const { child } of Object.values(r)) child.kill();
      }
    },
  };
}

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
    registriesPlugin(),
  ],
  coverageConfig: {
    include: ["src/**/*.ts"],
    report: true,
    reportDir: "coverage/browser",
    reporters: ["json-summary", "json", "text-summary"],
  },
};
