/**
 * Lit's legacy (`experimentalDecorators`) `@property` path, and nothing else: Lit's own
 * decorator also carries the standard-decorator path, which the drop-in bundle would ship
 * for nothing (bench 5a). Same semantics for fields: `createProperty(name, options)`.
 */
import type { PropertyDeclaration, ReactiveElement } from "lit";

export const property =
  (options?: PropertyDeclaration) =>
  (proto: ReactiveElement, name: PropertyKey): void =>
    (proto.constructor as typeof ReactiveElement).createProperty(name, options);

/** Internal reactive state: re-renders on change, no attribute (Lit implies `attribute: false`). */
export const state = (): ReturnType<typeof property> => property({ state: true });
