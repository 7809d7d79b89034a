// `npm run analyze`: custom-elements.json for <registry-peer> (editors, Storybook, docs tools).
export default {
  globs: ["src/element/registry-peer.ts", "src/element/registry-peer.component.ts"],
  outdir: ".",
  litelement: true,
  dependencies: false,
  packagejson: false,
  plugins: [
    {
      // The element dispatches through one helper (`_emit(type, …)`): the analyzer reads that as an
      // event named "type". The real events are the @fires tags.
      name: "drop-helper-event",
      packageLinkPhase({ customElementsManifest }) {
        for (const mod of customElementsManifest.modules ?? [])
          for (const d of mod.declarations ?? []) if (d.events) d.events = d.events.filter((e) => e.name !== "type");
      },
    },
  ],
};
