/** The machine a run happened on, for latest.json and the README table. */
import { cpus, totalmem, loadavg, platform, release } from "node:os";
import { readFileSync } from "node:fs";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  chromium: string;
  /** 1-minute load average at the start and the end of the run (other work on the machine). */
  loadAvgStart: number;
  loadAvgEnd?: number;
}

export function machine(): Machine {
  const c = cpus();
  let os = `${platform()} ${release()}`;
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"));
    if (m) os = `${m[1]} (${release()})`;
  } catch {
    /* not Linux */
  }
  return {
    cpuModel: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    node: process.version,
    chromium: "",
    loadAvgStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
