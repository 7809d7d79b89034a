/**
 * A fix for werift's SCTP reassembly (werift 0.24.x–0.25.2, `InboundStream.popMessages`), for
 * bots and game servers that use werift as their RTCPeerConnection.
 *
 * After delivering a message, werift's scan keeps the previous message's start and expects the
 * next TSN; when the next chunk of an ordered stream is not TSN-adjacent (a chunk of another
 * channel was sent between them, e.g. a heartbeat on the control channel or an unreliable
 * packet), the scan stops. The complete messages behind it stay queued until the next chunk
 * arrives on that stream: at the end of a burst, for ever. Measured: 1,000 reliable packets from
 * Chromium to a werift bot stopped at 924–936 in 1 run of 6–8. This replaces the method, once per
 * werift copy, with the same scan that starts afresh after each message.
 */
import type { PeerConnectionClass } from "./node.ts";

const LAST = 0x01;
const FIRST = 0x02;
const UNORDERED = 0x04;

interface Chunk {
  tsn: number;
  flags: number;
  streamId: number;
  streamSeqNum: number;
  protocol: number;
  userData: Uint8Array;
}
interface Stream {
  reassembly: Chunk[];
  streamSequenceNumber: number;
}

/** RFC 1982 serial comparison for 16-bit stream sequence numbers: a > b. */
const u16Gt = (a: number, b: number) => (a < b && b - a > 0x8000) || (a > b && a - b < 0x8000);

/** werift hands a Node Buffer on to its data channel (it runs on Node only). */
const concat = (parts: Uint8Array[]): Uint8Array =>
  (globalThis as unknown as { Buffer: { concat(p: Uint8Array[]): Uint8Array } }).Buffer.concat(parts);

/** werift's popMessages with the scan reset after each delivered message. */
export function* popMessages(this: Stream): Generator<[number, number, Uint8Array]> {
  let pos = 0;
  let start: number | undefined;
  let expected = 0;
  let ordered = true;
  while (pos < this.reassembly.length) {
    const c = this.reassembly[pos]!;
    if (start === undefined) {
      ordered = !(c.flags & UNORDERED);
      if (!(c.flags & FIRST)) {
        if (ordered) break;
        pos++;
        continue;
      }
      if (ordered && u16Gt(c.streamSeqNum, this.streamSequenceNumber)) break;
      expected = c.tsn;
      start = pos;
    } else if (c.tsn !== expected) {
      if (ordered) break;
      start = undefined; // an unordered message with a gap: look at this chunk as a new start
      continue;
    }
    if (c.flags & LAST) {
      const parts = this.reassembly.splice(start, pos + 1 - start).map((x) => x.userData);
      if (ordered && c.streamSeqNum === this.streamSequenceNumber) {
        this.streamSequenceNumber = (this.streamSequenceNumber + 1) & 0xffff;
      }
      pos = start;
      start = undefined;
      yield [c.streamId, c.protocol, concat(parts)];
    } else {
      pos++;
      expected = (expected + 1) % 2 ** 32;
    }
  }
}

/**
 * Applies the fix to the werift copy that `PeerConnection` comes from (werift's CommonJS and
 * ES module builds are separate copies: pass the class you use). Idempotent. Returns false when
 * `PeerConnection` is not werift's (nothing is changed then).
 */
export function patchWeriftReassembly(PeerConnection: PeerConnectionClass): boolean {
  type Probe = {
    createDataChannel?(label: string): unknown;
    sctpTransport?: { sctp?: { getInboundStream?(id: number): object; inboundStreams?: Record<number, unknown> } };
    close?(): unknown;
  };
  let pc: Probe | undefined;
  try {
    pc = new PeerConnection({} as never) as Probe;
    pc.createDataChannel?.("probe");
    const sctp = pc.sctpTransport?.sctp;
    if (typeof sctp?.getInboundStream !== "function") return false;
    const proto = Object.getPrototypeOf(sctp.getInboundStream(0)) as { popMessages?: unknown };
    if (sctp.inboundStreams) delete sctp.inboundStreams[0];
    if (typeof proto.popMessages !== "function") return false;
    proto.popMessages = popMessages;
    return true;
  } catch {
    return false;
  } finally {
    void Promise.resolve()
      .then(() => pc?.close?.())
      .catch(() => {});
  }
}
