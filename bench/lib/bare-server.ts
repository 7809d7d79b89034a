/**
 * Figure 6's reference: a bare node:http server answering every request with a small JSON
 * body, no framework, no work. Run in its own process exactly like registry-node.ts, under the
 * same load generator, in the same run: what this machine allows a Node HTTP server at all.
 */
import { createServer } from "node:http";

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end('{"ok":true}');
  });
});
server.listen(0, "127.0.0.1", () => {
  const a = server.address();
  process.send!({ url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}` });
});
process.on("message", (m: { cmd?: string }) => {
  if (m?.cmd === "stop") {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
