import type { MinifyOptions } from "terser";
/** The Terser pass of every shipped browser bundle (see the .mjs). */
export function terserOptions(module: boolean): MinifyOptions;
