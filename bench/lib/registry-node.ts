/**
 * Figure 6's server: the Node Registry alone in this process (started by bench/registry.ts with
 * an IPC channel), every rate limit off, its normal one-line-per-request log on stdout (which
 * the parent discards: the log's cost is part of the server's cost).
 */
import { startRegistry } from "../../server/node/registry.ts";
import { NO_LIMITS } from "./limits.ts";

const reg = await startRegistry({ port: 0, host: "127.0.0.1", env: { ...NO_LIMITS } });
process.send!({ url: reg.url });
process.on("message", (m: { cmd?: string }) => {
  if (m?.cmd === "memory") process.send!({ memory: process.memoryUsage() });
  if (m?.cmd === "stop") void reg.close().then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
