/**
 * Figure 6's memory per room: the Node runtime's room store wired as server/node/registry.ts wires it
 * (createApp over a RoomHost on MemoryRoomStorage), driven through app.fetch in this process
 * (no sockets: an idle room holds none). Run with --expose-gc. Each run builds a fresh app,
 * creates `rooms` rooms with POST /rooms and leaves them open (idle, waiting for a guest);
 * per room = (heapUsed + external after − before) / rooms, both after full GCs.
 * Usage: node --expose-gc --import tsx bench/lib/memory.ts <rooms> <runs>  → one JSON line.
 */
import { createApp } from "../../server/core/app.ts";
import { parseConfig } from "../../server/core/config.ts";
import { MemoryRateLimiter } from "../../server/core/ratelimit.ts";
import { MemoryRoomStorage, RoomHost } from "../../server/core/room-host.ts";
import { NO_LIMITS } from "./limits.ts";

const rooms = Number(process.argv[2]);
const runs = Number(process.argv[3]);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

/** Full GCs with turns of the event loop between them (so settled promises let go too). */
async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc!();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const perRoom: number[] = [];
let liveChecked = 0;
for (let run = -1; run < runs; run++) {
  const before = await settle();
  const config = parseConfig({ ...NO_LIMITS });
  const storage = new MemoryRoomStorage();
  const app = createApp({
    config,
    rooms: new RoomHost({ storage, config }),
    limiter: new MemoryRateLimiter(),
    clientIp: () => "127.0.0.1",
    log: () => {},
  });
  const create = async () => {
    const res = await app.fetch(
      new Request("http://registry/rooms", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Registry-Version": "1" },
        body: JSON.stringify({ hostUserName: "Host" }),
      }),
    );
    if (res.status !== 201) throw new Error(`POST /rooms → ${res.status}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < rooms; i++) await create();
  const after = await settle();
  liveChecked = storage.size;
  if (liveChecked !== rooms) throw new Error(`expected ${rooms} live rooms, found ${liveChecked}`);
  if (run >= 0) perRoom.push((after - before) / rooms);
  // Empty the store so the next run starts from nothing even if V8 keeps this app around a while.
  for (const code of await storage.codes()) await storage.delete(code);
}
process.stdout.write(`${JSON.stringify({ perRoom, rooms: liveChecked })}\n`);
