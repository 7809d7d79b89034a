/**
 * toJsonText (server/worker/worker-json.ts), the Worker's serialiser for Worker → Durable Object
 * messages: identical to JSON.stringify for every JSON value, and still correct for values
 * nested too deep for the native serialiser. Pure: runs the same on both runtimes' CI legs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { toJsonText } from "../../server/worker/worker-json.ts";

test("toJsonText equals JSON.stringify on JSON values and on messages with undefined members", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.equal(toJsonText(v), JSON.stringify(v));
    }),
    { numRuns: 300 },
  );
  const msg = {
    code: "ABCDEF",
    req: { op: "snapshot", tokenHash: null, since: undefined, wait: "5", ifNoneMatch: undefined },
  };
  assert.equal(toJsonText(msg), JSON.stringify(msg));
});

test("values nested deeper than JSON.stringify can write round-trip exactly", () => {
  const depth = 200_000;
  const text = `${'{"a":['.repeat(depth)}"x",1.5,null,true${"]}".repeat(depth)}`;
  const value: unknown = JSON.parse(text);
  assert.throws(
    () => JSON.stringify(value),
    RangeError,
    "the native serialiser must overflow here, or this test proves nothing",
  );
  assert.equal(toJsonText(value), text);
  const wrapped = {
    code: "ABCDEF",
    req: { op: "close", tokenHash: "h", body: { kind: "json", value }, skip: undefined },
  };
  const out = toJsonText(wrapped);
  assert.ok(
    out.startsWith('{"code":"ABCDEF","req":{"op":"close","tokenHash":"h","body":{"kind":"json","value":{"a":[{"a":['),
  );
  assert.ok(out.endsWith("]}]}}}}"));
  assert.equal(
    out.length,
    '{"code":"ABCDEF","req":{"op":"close","tokenHash":"h","body":{"kind":"json","value":'.length + text.length + 3,
  );
});
