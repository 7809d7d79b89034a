/**
 * Figure 6s: what the Node Registry's TTL sweep costs at a large room count. The room store is
 * wired as server/node/registry.ts wires it (RoomHost over MemoryRoomStorage) with a simulated
 * clock: `rooms` rooms are created with their creation times spread evenly over one open TTL
 * (so about rooms / TTL_OPEN_SEC expire every second, as in a steady state), then the clock
 * moves one second at a time and sweep() runs once per simulated second, as the runtime's
 * interval does. Each sample is the wall time of one sweep (= ms of event loop per second).
 * Reference: the same seconds with the old full pass (a `tick` op on every stored room).
 * Usage: node --import tsx bench/lib/sweep.ts <rooms> <seconds>  → one JSON line.
 */
import { performance } from "node:perf_hooks";
import { parseConfig } from "../../server/core/config.ts";
import { MemoryRoomStorage, RoomHost } from "../../server/core/room-host.ts";
import { applyOp } from "../../server/core/room.ts";
import { NO_LIMITS } from "./limits.ts";

const rooms = Number(process.argv[2] ?? 100_000);
const seconds = Number(process.argv[3] ?? 75);

const config = parseConfig({ ...NO_LIMITS, MAX_ROOMS: "0" });
const hash = "0".repeat(64);

function code(i: number): string {
  const A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let s = "";
  for (let k = 0; k < 6; k++) s += A[(i >> (5 * k)) & 31];
  return s;
}

async function build(): Promise<{ host: RoomHost; storage: MemoryRoomStorage; clock: { t: number } }> {
  const clock = { t: 1_000_000_000_000 };
  const storage = new MemoryRoomStorage();
  const host = new RoomHost({ storage, config, now: () => clock.t });
  const start = clock.t;
  for (let i = 0; i < rooms; i++) {
    clock.t = start + Math.floor((i * config.ttlOpenMs) / rooms);
    const c = code(i);
    const r = await host.call(c, { op: "create", code: c, hostUserName: "Host", ownerToken: "t", ownerTokenHash: hash, joinCode: "J", joinCodeHash: hash });
    if (r.status !== 201) throw new Error(`create ${c}: ${r.status}`);
  }
  // Steady state: the first rooms are about to expire.
  clock.t = start + config.ttlOpenMs;
  return { host, storage, clock };
}

const heap: number[] = [];
/** CPU time of the same sweeps: the machine is shared, and wall time includes being preempted. */
const heapCpu: number[] = [];
const fullCpu: number[] = [];
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
};
/** Rooms gone (tombstones dropped) during the measured seconds. */
let gone = 0;
{
  const { host, storage, clock } = await build();
  const before = storage.size;
  for (let s = 0; s < seconds; s++) {
    clock.t += 1000;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await host.sweep();
    heap.push(performance.now() - t0);
    heapCpu.push(cpuMs(c0));
  }
  gone = before - storage.size;
  if (storage.size < rooms * 0.9) throw new Error(`store shrank to ${storage.size}`);
}

// Reference: the full pass the sweep used to make.
const full: number[] = [];
{
  const { storage, clock } = await build();
  for (let s = 0; s < Math.min(seconds, 10); s++) {
    clock.t += 1000;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const c of await storage.codes()) {
      const out = applyOp(storage.getSync(c) ?? null, { op: "tick" }, { now: clock.t, config });
      if (out.write) {
        if (out.record) storage.putSync(c, out.record);
        else storage.deleteSync(c);
      }
    }
    full.push(performance.now() - t0);
    fullCpu.push(cpuMs(c0));
  }
}

process.stdout.write(JSON.stringify({ rooms, seconds, heapMs: heap, heapCpuMs: heapCpu, fullMs: full, fullCpuMs: fullCpu, expiredPerSec: Math.round((rooms / config.ttlOpenMs) * 1000), gone }) + "\n");
