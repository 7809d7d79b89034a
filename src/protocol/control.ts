/**
 * The control channel's messages (docs/protocol.md, Control channel): JSON text on the
 * pre-negotiated unreliable channel. Wire keys, so they live here: the drop-in's property
 * mangling never touches src/protocol, and a mangled page must understand an unmangled peer
 * (the npm build, a Node bot) and the other way round.
 */

/** One heartbeat: a sequence number and the sender's unreliable receive count. */
export interface ControlBeat {
  hb: number;
  u: number;
}

/** The longest control message read; anything longer is not ours. */
const MAX_CONTROL_CHARS = 200;

export const encodeBeat = (hb: number, u: number): string => JSON.stringify({ hb, u } satisfies ControlBeat);

export const CONTROL_BYE = JSON.stringify({ bye: 1 });

/** A heartbeat, "bye", or null for anything else (ignored). */
export function parseControl(data: unknown): ControlBeat | "bye" | null {
  if (typeof data !== "string" || data.length > MAX_CONTROL_CHARS) return null;
  try {
    const m = JSON.parse(data) as Record<string, unknown>;
    if (m && m.bye === 1) return "bye";
    if (m && typeof m.hb === "number" && typeof m.u === "number") return { hb: m.hb, u: m.u };
  } catch {
    // Not ours: ignored.
  }
  return null;
}
