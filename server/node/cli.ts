/**
 * The Registry as a command: `npx registry-peer` (the package's bin, bundled by
 * scripts/build-server.mjs into dist/server/registry.js) and `npm run registry` here.
 * Configuration is the environment only (the same names as Workers' vars): one way to
 * configure it, whether it runs from npm, systemd or a container.
 */
import { CONFIG_DEFAULTS } from "../../src/protocol/index.ts";
import { startRegistry } from "./registry.ts";

const HELP = `registry-peer: the signaling Registry for <registry-peer> (Node ${process.versions.node}).

Usage: [NAME=value ...] registry-peer

Configuration is read from the environment:
  PORT, HOST            where to listen (default ${CONFIG_DEFAULTS.HOST}:${CONFIG_DEFAULTS.PORT});
                        HOST=0.0.0.0 (or ::) listens on all interfaces
  ALLOWED_ORIGINS       comma-separated page origins allowed to call it, or *
                        (unset: only http://localhost, 127.0.0.1 and [::1] pages)
  TRUST_PROXY=1         behind one reverse proxy: client IP = rightmost X-Forwarded-For
  TTL_*_SEC, LIMIT_*, LONGPOLL_MAX_SEC, MAX_RESTARTS   see the package README

It logs one JSON line per request to stdout and stops cleanly on SIGINT/SIGTERM.
`;

const arg = process.argv[2];
if (arg === "--help" || arg === "-h") {
  process.stdout.write(HELP);
} else if (arg !== undefined) {
  process.stderr.write(`registry-peer: unknown argument "${arg}" (configuration is environment variables; see --help)\n`);
  process.exitCode = 2;
} else {
  startRegistry({ env: process.env })
    .then((r) => {
      console.log(`Registry listening on ${r.url}`);
      const stop = () => {
        r.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    })
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    });
}
