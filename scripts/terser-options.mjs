/**
 * The Terser pass every shipped browser bundle gets after esbuild/Rolldown minified it (one source
 * for vite.config.ts's drop-in build and bench/size.ts's figures, so a figure measures what ships).
 * ~1.5 % fewer gzip bytes on the drop-in (5a/5b), ~6 % on the client core (5d), with no change to
 * what the code does.
 */
/** @param {boolean} module an ES module (else a classic script) */
export function terserOptions(module) {
  return {
    module,
    ecma: 2022,
    // unsafe_arrows: `function` expressions that use no `this`/`arguments` become arrows
    // (none of them is called with `new`); ~30 B gzip.
    compress: { passes: 3, unsafe_arrows: true },
    format: { comments: false },
  };
}
