/** The internal property names the bundles may shorten (see the .mjs). */
export function mangleNames(root?: string): {
  names: string[];
  reserved: Set<string>;
  regex: RegExp;
  cache: Record<string, string>;
};
