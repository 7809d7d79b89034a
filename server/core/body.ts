/**
 * Request bodies (docs/protocol.md, Requests; Limits): read with a hard cap, then decoded as
 * strict UTF-8 JSON of an accepted media type. Nothing here answers; the app reports.
 */
import type { BodyInput } from "./room.ts";

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Reads a request body with a hard cap, also when it arrives chunked without a
 * Content-Length: stops (and cancels the stream) as soon as the cap is passed.
 */
export async function readBodyCapped(req: Request, cap: number): Promise<Uint8Array | "too_large" | "unreadable"> {
  const cl = req.headers.get("content-length");
  if (cl !== null && /^\d+$/.test(cl.trim())) {
    if (Number(cl.trim()) > cap) return "too_large";
    // A declared length within the cap: the HTTP layer delivers exactly that many bytes, so the
    // body can be read whole (on Node straight from the socket, without a web stream).
    try {
      return new Uint8Array(await req.arrayBuffer());
    } catch {
      return "unreadable";
    }
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        reader.cancel().catch(() => {});
        return "too_large";
      }
      chunks.push(value);
    }
  } catch {
    return "unreadable";
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const mediaTypeOf = (contentType: string | undefined) => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/** (ext `fast`) The simple form's media type, `text/plain`: a browser sends it without a preflight. */
export const isSimple = (contentType: string | undefined) => mediaTypeOf(contentType) === "text/plain";

/**
 * JSON with `Content-Type: application/json` (or, ext `fast`, `text/plain`: a CORS-simple
 * request), valid UTF-8; anything else is unusable.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | undefined, simple: boolean): BodyInput {
  if (bytes.byteLength === 0) return { kind: "none" };
  if (mediaTypeOf(contentType) !== "application/json" && !(simple && isSimple(contentType))) return { kind: "invalid" };
  try {
    return { kind: "json", value: JSON.parse(strictUtf8.decode(bytes)) };
  } catch {
    return { kind: "invalid" };
  }
}
