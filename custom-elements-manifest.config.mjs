// `npm run analyze`: custom-elements.json for <registry-peer> (editors, Storybook, docs tools).
// The manifest describes what the package ships: paths point into dist/lib (the npm build), and
// only the public API is listed (no private or protected members, no Lit lifecycle overrides).
const SHIPPED = (p) => p.replace(/^\/?src\/(.+)\.ts$/, "dist/lib/$1.js");
const HIDDEN = new Set(["styles", "render", "willUpdate", "updated", "connectedCallback", "disconnectedCallback"]);

/** Every `path`/`module` string in the manifest, rewritten to the shipped file. */
function shipPaths(node) {
  if (Array.isArray(node)) return node.forEach(shipPaths);
  if (!node || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === "path" || k === "module") && typeof v === "string") node[k] = SHIPPED(v);
    else shipPaths(v);
  }
}

export default {
  globs: ["src/element/registry-peer.ts", "src/element/registry-peer.component.ts"],
  outdir: ".",
  litelement: true,
  dependencies: false,
  packagejson: false,
  plugins: [
    {
      name: "public-api-only",
      packageLinkPhase({ customElementsManifest }) {
        for (const mod of customElementsManifest.modules ?? []) {
          for (const d of mod.declarations ?? []) {
            // Lit's `static properties` marks its entries `public` (a `private` field still wins):
            // public is the default, so the mark goes.
            d.members = d.members?.filter(
              (m) => (!m.privacy || m.privacy === "public") && !/^[#_]/.test(m.name) && !HIDDEN.has(m.name),
            );
            for (const m of d.members ?? []) delete m.privacy;
            // Internal reactive state (`_form: { state: true }`) is no attribute.
            d.attributes = d.attributes?.filter((a) => !/^[#_]/.test(a.fieldName ?? a.name));
            // Events come from the @fires tags only (with their detail types).
            d.events = d.events?.filter((e) => e.type?.text);
          }
        }
        shipPaths(customElementsManifest);
      },
    },
  ],
};
