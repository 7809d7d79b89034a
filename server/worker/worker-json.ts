/** JSON text for Worker → Durable Object messages (server/worker.ts). */

/**
 * JSON.stringify, but also for request bodies nested deeper than the native (recursive)
 * serialiser's stack allows: a 64 KiB body can nest ~13 000 levels, which JSON.parse reads
 * (iteratively) but JSON.stringify cannot write back in workerd. Same output, by an
 * explicit stack; only reached when the native one overflows.
 */
export function toJsonText(root: unknown): string {
  try {
    return JSON.stringify(root);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  const out: string[] = [];
  const stack: Array<{ v: unknown } | string> = [{ v: root }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === "string") {
      out.push(item);
      continue;
    }
    const v = item.v;
    if (v === null || typeof v !== "object") {
      // Primitives (undefined, functions: null, as JSON.stringify writes them in arrays).
      out.push(JSON.stringify(v) ?? "null");
    } else if (Array.isArray(v)) {
      out.push("[");
      stack.push("]");
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] });
        if (i > 0) stack.push(",");
      }
    } else {
      // Object members whose value JSON cannot hold (undefined, functions) are left out.
      const entries = Object.entries(v).filter(
        ([, x]) => x !== undefined && typeof x !== "function" && typeof x !== "symbol",
      );
      out.push("{");
      stack.push("}");
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i]!;
        stack.push({ v: x });
        stack.push(`${JSON.stringify(k)}:`);
        if (i > 0) stack.push(",");
      }
    }
  }
  return out.join("");
}
