/**
 * `npm run bench` (full) / `npm run bench -- --quick` (reduced counts, while developing).
 *
 * Runs figures 1–7 of issue 6, prints a table and writes the results:
 *   full:  bench/results/latest.json and the generated table in bench/README.md
 *   quick: bench/results/quick.tmp (JSON; git-ignored), README untouched
 * `--only=size,browser,roundtrip,registry,sweep,netlab,recovery` runs a subset (results then go to the quick file too);
 * `npm run bench:roundtrip` is `--only=roundtrip` with full counts (figure 8).
 * Builds dist/ first when it is missing or older than src/ (as `npm start` does).
 * Every loop in the suite is bounded in count and time; the whole run is capped at 20 min.
 */
import { writeFileSync, readFileSync, mkdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { spawnSync } from "node:child_process";
import { buildIfNeeded } from "../server/dev/start.ts";
import { browserFigures } from "./browser.ts";
import { registryFigures, sweepFigures } from "./registry.ts";
import { roundtripFigures } from "./roundtrip.ts";
import { sizeFigures } from "./size.ts";
import { netlabFigures } from "./netlab.ts";
import { recoveryFigures } from "./recovery.ts";
import { machine } from "./lib/machine.ts";
import type { Figure } from "./lib/stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice(7).split(",")) : null;
const full = !quick && !only;
const want = (s: string) => !only || only.has(s);

const COUNTS = quick
  ? {
      runs: 3,
      throughputBytes: 8 * 2 ** 20,
      pings: 100,
      windows: 3,
      windowMs: 500,
      warmupMs: 500,
      concurrency: 32,
      memoryRooms: 2000,
      memoryRuns: 3,
    }
  : {
      runs: 15,
      throughputBytes: 32 * 2 ** 20,
      pings: 500,
      windows: 15,
      windowMs: 1000,
      warmupMs: 2000,
      concurrency: 32,
      memoryRooms: 10_000,
      memoryRuns: 15,
    };

const watchdog = setTimeout(() => {
  console.error("bench: over the 20 min cap, giving up");
  process.exit(2);
}, 20 * 60_000);
watchdog.unref();

const log = (m: string) => console.log(m);

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "–";
  if (unit === "ratio") return x.toFixed(3);
  if (Math.abs(x) >= 100 || Number.isInteger(x)) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(1);
}

export function table(figures: Figure[]): string {
  const rows = [
    "| # | figure | unit | median | min | max | runs | target | met |",
    "|---|---|---|--:|--:|--:|--:|---|---|",
  ];
  for (const f of figures) {
    const met = f.met === null ? "" : f.met ? "yes" : "**no**";
    rows.push(
      `| ${f.id} | ${f.name} | ${f.unit} | ${fmt(f.median, f.unit)} | ${fmt(f.min, f.unit)} | ${fmt(f.max, f.unit)} | ${f.runs} | ${f.target} | ${met} |`,
    );
  }
  return rows.join("\n");
}

/** The commit measured, and whether src/ or server/ had uncommitted edits (they are built and measured too). */
function sourceState(): { commit: string; uncommittedProductEdits: string[] } {
  const git = (a: string[]) => spawnSync("git", a, { cwd: ROOT, encoding: "utf8" });
  const head = git(["rev-parse", "--short", "HEAD"]);
  const st = git(["status", "--porcelain", "--", "src", "server"]);
  return {
    commit: head.status === 0 ? head.stdout.trim() : "unknown",
    uncommittedProductEdits:
      st.status === 0
        ? st.stdout
            .split("\n")
            .filter(Boolean)
            .map((l) => l.slice(3))
        : [],
  };
}

async function main(): Promise<void> {
  const started = new Date();
  const m = machine();
  log(
    `registry-peer bench (${full ? "full" : quick ? "quick" : "subset"}) on ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, load average ${m.loadAvgStart}`,
  );
  await buildIfNeeded(ROOT);

  const figures: Figure[] = [];
  const notes: string[] = [];
  if (want("size")) figures.push(...(await sizeFigures(ROOT)));
  if (want("browser")) {
    const b = await browserFigures({
      root: ROOT,
      runs: COUNTS.runs,
      throughputBytes: COUNTS.throughputBytes,
      pings: COUNTS.pings,
      log,
    });
    m.chromium = b.info.chromium;
    notes.push(
      `Pages cross-origin isolated: ${b.info.crossOriginIsolated}; performance.now() step ${b.info.timerStepUs} µs.`,
    );
    figures.push(...b.figures);
  }
  if (want("roundtrip")) figures.push(...(await roundtripFigures({ root: ROOT, runs: COUNTS.runs, log })).figures);
  if (want("registry")) {
    const r = await registryFigures({ root: ROOT, ...COUNTS, log });
    figures.push(...r.figures);
  }
  if (want("netlab")) {
    const n = await netlabFigures({ runs: quick ? 3 : 10, log });
    figures.push(...n.figures);
    if (n.note) notes.push(n.note);
  }
  if (want("sweep"))
    figures.push(...(await sweepFigures({ root: ROOT, rooms: 100_000, seconds: quick ? 20 : 75, log })));
  if (want("recovery")) {
    const n = await recoveryFigures({ runs: quick ? 1 : 3, log });
    figures.push(...n.figures);
    if (n.note) notes.push(n.note);
  }
  figures.sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
  m.loadAvgEnd = Math.round(loadavg()[0]! * 100) / 100;
  const finished = new Date();

  const result = {
    date: started.toISOString(),
    source: sourceState(),
    durationSec: Math.round((finished.getTime() - started.getTime()) / 1000),
    mode: full ? "full" : quick ? "quick" : "subset",
    machine: m,
    counts: COUNTS,
    notes,
    figures,
  };
  const t = table(figures);
  log(`\n${t}\n`);
  const missed = figures.filter((f) => f.met === false).map((f) => f.id);
  log(`missed targets: ${missed.length ? missed.join(", ") : "none"}`);

  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  if (full) {
    writeFileSync(join(ROOT, "bench/results/latest.json"), `${JSON.stringify(result, null, 2)}\n`);
    const start = "<!-- bench:table:start -->";
    const end = "<!-- bench:table:end -->";
    // The same generated block goes into bench/README.md and docs/benchmarks.md, so neither drifts.
    for (const readmePath of [join(ROOT, "bench/README.md"), join(ROOT, "docs/benchmarks.md")]) {
      if (!existsSync(readmePath)) continue;
      const readme = readFileSync(readmePath, "utf8");
      const i = readme.indexOf(start);
      const j = readme.indexOf(end);
      if (i >= 0 && j > i) {
        const machineLine =
          `Run ${result.date.slice(0, 16).replace("T", " ")} UTC (${result.durationSec} s) on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; ` +
          `Node ${m.node}, Chromium ${m.chromium || "–"}; 1-min load average ${m.loadAvgStart} at start, ${m.loadAvgEnd} at end (the machine was shared). ` +
          `Source: commit ${result.source.commit}${result.source.uncommittedProductEdits.length ? ` plus uncommitted edits in ${result.source.uncommittedProductEdits.join(", ")} (other engineers' work in progress, built and measured as found)` : ""}.`;
        const body = `\n${machineLine}\n\n${t}\n\n${notes.join(" ")}\n`;
        writeFileSync(readmePath, readme.slice(0, i + start.length) + body + readme.slice(j));
      }
    }
    // The written tables follow the repository's format (npm test lints it), as a human's edit would.
    spawnSync(
      process.execPath,
      [
        join(ROOT, "node_modules/@biomejs/biome/bin/biome"),
        "format",
        "--write",
        "bench/README.md",
        "docs/benchmarks.md",
      ],
      { cwd: ROOT, stdio: "ignore" },
    );
    log("wrote bench/results/latest.json and the table in bench/README.md and docs/benchmarks.md");
  } else {
    writeFileSync(join(ROOT, "bench/results/quick.tmp"), `${JSON.stringify(result, null, 2)}\n`);
    log("wrote bench/results/quick.tmp (not a full run: README and latest.json untouched)");
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
