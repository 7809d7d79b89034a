/**
 * What frameworks see of `<registry-peer>`: its settable properties and its events, derived
 * from the element's class and the global HTMLElementEventMap, so the framework typings
 * (./react.ts, ./vue.ts) follow the element without a second list of types.
 */
import type { LitElement } from "lit";
import type { RegistryPeer } from "../element/registry-peer.ts";

/** Every event `<registry-peer>` dispatches (each typed in HTMLElementEventMap). */
export type RegistryPeerEventName =
  | "phase-change"
  | "room-created"
  | "peer-open"
  | "packet"
  | "drain"
  | "peer-close"
  | "peer-error"
  | "reconnecting"
  | "reconnected"
  | "stats";

export type RegistryPeerEvent<K extends RegistryPeerEventName> = HTMLElementEventMap[K] & {
  currentTarget: RegistryPeer;
};

type IfEquals<X, Y, A, B> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? A : B;
type WritableKeys<T> = {
  [P in keyof T]-?: IfEquals<{ [Q in P]: T[P] }, { -readonly [Q in P]: T[P] }, P, never>;
}[keyof T];
type DataKeys<T> = { [P in keyof T]-?: T[P] extends (...args: never[]) => unknown ? never : P }[keyof T];

/** The element's own settable properties (not LitElement's/HTMLElement's, no methods, no getters). */
export type RegistryPeerPropertyName =
  | Exclude<WritableKeys<RegistryPeer> & DataKeys<RegistryPeer>, keyof LitElement>
  | "role";
export type RegistryPeerProperties = Partial<Pick<RegistryPeer, RegistryPeerPropertyName>>;

/**
 * Event props as React 19 and Preact hand them to a custom element: `on` + the event's exact
 * name (`onpacket`, `"onpeer-open"`). The React spelling `onPacket` would listen for an event
 * named "Packet", which never fires; it is not in this type, so TSX reports it.
 */
export type LowercaseEventProps = {
  [K in RegistryPeerEventName as `on${K}`]?: (event: RegistryPeerEvent<K>) => void;
};

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/** Event props as Vue templates name them: `@peer-open` is the prop `onPeerOpen`. */
export type VueEventProps = {
  [K in RegistryPeerEventName as `on${Capitalize<CamelCase<K>>}`]?: (event: RegistryPeerEvent<K>) => void;
};
