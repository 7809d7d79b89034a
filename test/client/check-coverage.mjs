// Enforces 100% branch coverage on the client's reducer and its HTTP/RTC
// orchestration files, read from the report `wtr --coverage` writes. Exit 1 (listing the
// uncovered branches) below it. Only these files: the bar is theirs, not the whole project's.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const FILES = [
  "src/client/state.ts",
  "src/client/transport.ts",
  "src/client/rtc.ts",
  "src/client/ice.ts",
  "src/client/client.ts",
  "src/client/timers.ts",
  "src/client/backoff.ts",
  "src/client/errors.ts",
  "src/client/room-watch.ts",
  "src/client/publisher.ts",
  "src/client/drain.ts",
  "src/client/negotiation.ts",
  "src/client/recovery.ts",
  "src/client/ctx.ts",
  "src/client/defaults.ts",
  "src/client/heartbeat.ts",
  "src/client/stats.ts",
  "src/client/connectivity.ts",
  "src/client/ice-config.ts",
  "src/client/route.ts",
  "src/client/room-admin.ts",
  "src/client/session.ts",
  "src/client/lifecycle.ts",
];
const dir = resolve(process.argv[2] ?? "coverage/browser");
const summary = JSON.parse(readFileSync(`${dir}/coverage-summary.json`, "utf8"));
const detail = JSON.parse(readFileSync(`${dir}/coverage-final.json`, "utf8"));
let bad = 0;
for (const f of FILES) {
  const abs = resolve(f);
  const s = summary[abs];
  if (!s) {
    console.error(`coverage: ${f} is not in the report (did the client tests run?)`);
    bad++;
    continue;
  }
  const pct = s.branches.pct;
  console.log(`coverage: ${f} branches ${s.branches.covered}/${s.branches.total} (${pct}%)`);
  if (s.branches.covered < s.branches.total) {
    bad++;
    const d = detail[abs];
    for (const [id, counts] of Object.entries(d.b)) {
      counts.forEach((n, i) => {
        if (n === 0) {
          const loc = d.branchMap[id].locations[i] ?? d.branchMap[id].loc;
          console.error(`  uncovered branch ${id}[${i}] at ${f}:${loc.start.line}:${loc.start.column}`);
        }
      });
    }
  }
}
if (bad) {
  console.error(`coverage: ${bad} file(s) below 100% branches`);
  process.exit(1);
}
console.log("coverage: client branch coverage 100%");
