/**
 * An echo bot in Node: the same RegistryClient the element uses, with node-datachannel's W3C
 * RTCPeerConnection injected. It hosts a room (and prints a share link for the page), or joins
 * one from a share link, then sends every packet back on the channel it came on.
 *
 *   npm install registry-peer node-datachannel
 *   node --import tsx examples/node-bot.ts http://127.0.0.1:8787 https://game.example/play.html
 *   node --import tsx examples/node-bot.ts http://127.0.0.1:8787 'https://game.example/play.html#room=K7M2QX&join=ABCD-1234'
 *
 * In an app, import from the package: "registry-peer/client" and "registry-peer/node".
 */
import { RTCPeerConnection } from "node-datachannel/polyfill";
import { RegistryClient, formatJoinCode, normalizeJoinCode, normalizeRoomCode } from "../src/client/index.ts";
import { nodeDefaults, patchWeriftReassembly, type PeerConnectionClass } from "../src/client/node.ts";

export interface EchoBotOptions {
  /** The Registry, e.g. "https://registry.example.com". */
  baseUrl: string;
  /** Host: the page players open (its share link is built from it). Guest: the share link. */
  link: string;
  role: "host" | "guest";
  userName?: string;
  /** Another W3C RTCPeerConnection class, e.g. werift's; default node-datachannel's polyfill. */
  PeerConnection?: PeerConnectionClass;
  /** Every packet as it arrives (before the echo). */
  onPacket?(data: string | ArrayBuffer, reliable: boolean): void;
}

export interface EchoBot {
  client: RegistryClient;
  /** Host: the link to give the other player. Guest: the link it joined. */
  shareUrl: string;
  /** Resolves when the DataChannel is open; rejects when the session ends first. */
  open: Promise<void>;
  /** Resolves with the reason when the session ends (the other side left, close(), an error). */
  closed: Promise<string>;
}

/** Room and join code from a share link's fragment (`#room=K7M2QX&join=ABCD-1234`). */
export function parseShareLink(link: string): { code: string; joinCode: string } {
  const p = new URLSearchParams(link.slice(link.indexOf("#") + 1));
  const code = normalizeRoomCode(p.get("room"));
  const joinCode = normalizeJoinCode(p.get("join"));
  if (!code || !joinCode) throw new Error("The share link has no valid #room=…&join=… fragment.");
  return { code, joinCode };
}

export async function startEchoBot(o: EchoBotOptions): Promise<EchoBot> {
  // werift's reassembly fix (README, Bots): a no-op for any other implementation.
  if (o.PeerConnection) patchWeriftReassembly(o.PeerConnection);
  // Echoes that send() refused (backpressure) wait here, in order, until onDrain.
  const backlog: [string | ArrayBuffer, boolean][] = [];
  const flush = () => {
    for (let next = backlog[0]; next && client.send(next[0], { reliable: next[1] }); next = backlog[0]) backlog.shift();
  };
  let onClosed!: (why: string) => void;
  const closed = new Promise<string>((resolve) => (onClosed = resolve));
  const client: RegistryClient = new RegistryClient(
    { baseUrl: o.baseUrl, ...nodeDefaults(o.PeerConnection ?? RTCPeerConnection) },
    {
      onMessage(data, { reliable }) {
        o.onPacket?.(data, reliable);
        backlog.push([data, reliable]);
        if (backlog.length === 1) flush();
      },
      onDrain: flush,
      onClose: (why) => onClosed(why ?? "closed"),
      // Errors carry a code and a plain message, never a token, join code, SDP or candidate.
      onError: (err) => console.warn(`[bot] ${err.name}: ${err.message}`),
    },
  );
  const userName = o.userName ?? "Bot";
  let shareUrl: string;
  let code: string;
  let accessToken: string;
  if (o.role === "host") {
    const room = await client.createRoom({ hostUserName: userName });
    const page = o.link.split("#")[0];
    shareUrl = `${page}#room=${room.code}&join=${formatJoinCode(room.joinCode)}`;
    code = room.code;
    accessToken = room.ownerToken;
  } else {
    const share = parseShareLink(o.link);
    const joined = await client.joinRoom({ code: share.code, joinCode: share.joinCode, guestUserName: userName });
    shareUrl = o.link;
    code = share.code;
    accessToken = joined.guestToken;
  }
  // unreliable: the second, unordered channel without retransmits (the guest adopts the host's).
  const open = client.connect({ role: o.role, code, accessToken, unreliable: true });
  open.catch(() => {}); // also reported through `closed`; a caller that never awaits `open` is fine
  return { client, shareUrl, open, closed };
}

// Run as a script: `node --import tsx examples/node-bot.ts <registry-url> <page-url | share-link>`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseUrl, link] = process.argv.slice(2);
  if (!baseUrl || !link) {
    console.error("usage: node --import tsx examples/node-bot.ts <registry-url> <page-url | share-link>");
    process.exit(2);
  }
  const role = link.includes("#room=") ? "guest" : "host";
  const bot = await startEchoBot({ baseUrl, link, role });
  if (role === "host") console.log(`Open this link in a browser to play against the bot:\n  ${bot.shareUrl}`);
  process.once("SIGINT", () => bot.client.close("bot stopped"));
  bot.open.then(
    () => console.log("[bot] connected: echoing"),
    () => {},
  );
  console.log(`[bot] session ended: ${await bot.closed}`);
  process.exit(0);
}
