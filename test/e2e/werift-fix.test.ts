/**
 * The werift reassembly fix (src/client/werift-fix.ts), on werift's own InboundStream: the
 * sequences that stall werift's original scan are delivered whole, in order, by the fix, and what
 * must wait (a gap in an ordered stream, a message missing its first fragment) still waits.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RTCPeerConnection } from "werift";
import { patchWeriftReassembly, popMessages } from "../../src/client/werift-fix.ts";

const B = 0x02;
const E = 0x01;
const U = 0x04;

type Chunk = { tsn: number; flags: number; streamId: number; streamSeqNum: number; protocol: number; userData: Buffer };
type Stream = { reassembly: Chunk[]; streamSequenceNumber: number; addChunk(c: Chunk): void };
type Pop = (this: Stream) => Generator<[number, number, Buffer]>;

/** A fresh InboundStream of this werift copy, and its prototype's popMessages as found. */
function werift(): { stream: () => Stream; original: Pop } {
  const pc = new RTCPeerConnection({}) as unknown as {
    createDataChannel(l: string): unknown;
    sctpTransport: { sctp: { getInboundStream(id: number): Stream } };
    close(): Promise<void>;
  };
  pc.createDataChannel("t");
  const sample = pc.sctpTransport.sctp.getInboundStream(7);
  void pc.close();
  const Ctor = sample.constructor as new () => Stream;
  return { stream: () => new Ctor(), original: Object.getPrototypeOf(sample).popMessages as Pop };
}

const chunk = (tsn: number, ssn: number, flags: number, text: string, streamId = 1): Chunk => ({
  tsn,
  flags,
  streamId,
  streamSeqNum: ssn,
  protocol: 51,
  userData: Buffer.from(text),
});

function deliver(pop: Pop, s: Stream): string[] {
  return [...pop.call(s)].map(([, , d]) => d.toString());
}

describe("werift reassembly fix", () => {
  // Stream 1's chunks as werift holds them when another channel's chunk (TSN 102) was sent
  // between them: complete messages SSN 0, 1, 2 at TSNs 100, 101, 103.
  const interleaved = () => [chunk(100, 0, B | E, "a"), chunk(101, 1, B | E, "b"), chunk(103, 2, B | E, "c")];

  it("werift's own scan stops at the gap and keeps a complete, due message (the bug)", () => {
    const { stream, original } = werift();
    const s = stream();
    s.reassembly = interleaved();
    assert.deepEqual(deliver(original, s), ["a", "b"]);
    assert.equal(s.reassembly.length, 1, "message c is complete and due, but stays queued");
    assert.equal(s.streamSequenceNumber, 2);
  });

  it("the fix delivers every due message across TSN gaps, in order", () => {
    const { stream } = werift();
    const s = stream();
    s.reassembly = interleaved();
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), ["a", "b", "c"]);
    assert.equal(s.reassembly.length, 0);
    assert.equal(s.streamSequenceNumber, 3);
  });

  it("fragments are joined; a gap in the stream's sequence still waits", () => {
    const { stream } = werift();
    const s = stream();
    s.reassembly = [chunk(10, 0, B, "he"), chunk(11, 0, 0, "ll"), chunk(12, 0, E, "o"), chunk(14, 2, B | E, "late")];
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), ["hello"]);
    assert.deepEqual(
      s.reassembly.map((c) => c.tsn),
      [14],
      "SSN 2 waits for SSN 1",
    );
    s.reassembly.unshift(chunk(13, 1, B | E, "x"));
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), ["x", "late"]);
  });

  it("a message whose first fragment is missing waits; so does an incomplete one", () => {
    const { stream } = werift();
    const s = stream();
    s.reassembly = [chunk(21, 0, E, "tail")];
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), []);
    s.reassembly = [chunk(20, 0, B, "he"), chunk(22, 0, E, "lo")];
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), [], "TSN 21 missing inside the message");
    assert.equal(s.reassembly.length, 2);
  });

  it("unordered messages are delivered as they complete, around incomplete ones", () => {
    const { stream } = werift();
    const s = stream();
    s.reassembly = [
      chunk(30, 0, U | B, "inc"),
      chunk(32, 0, U | B | E, "one"),
      chunk(33, 0, U | E, "orphan"),
      chunk(35, 0, U | B, "tw"),
      chunk(36, 0, U | E, "o"),
    ];
    assert.deepEqual(deliver(popMessages as unknown as Pop, s), ["one", "two"]);
    assert.deepEqual(
      s.reassembly.map((c) => c.tsn),
      [30, 33],
    );
  });

  it("patchWeriftReassembly replaces werift's scan, and leaves other classes alone", () => {
    const { stream } = werift();
    assert.equal(patchWeriftReassembly(RTCPeerConnection), true);
    assert.equal(patchWeriftReassembly(RTCPeerConnection), true, "idempotent");
    const s = stream();
    s.reassembly = interleaved();
    assert.deepEqual(
      [...(s as unknown as { popMessages(): Iterable<[number, number, Buffer]> }).popMessages()].map(([, , d]) =>
        d.toString(),
      ),
      ["a", "b", "c"],
    );
    class NotWerift {}
    assert.equal(patchWeriftReassembly(NotWerift), false);
  });
});
