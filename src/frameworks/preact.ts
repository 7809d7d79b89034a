/**
 * `<registry-peer>` in Preact 11 TSX: `import type {} from "registry-peer/preact";` once. Types
 * only; nothing runs. Preact sets a prop as a property when the element has it, and listens
 * for `on<name>` with the name as written (`onpacket`, `onpeer-open`), as React 19 does.
 */
import type { HTMLAttributes } from "preact";
import type { RegistryPeer } from "../element/registry-peer.ts";
import type { LowercaseEventProps, RegistryPeerProperties } from "./props.ts";

export type RegistryPeerPreactProps = Omit<HTMLAttributes<RegistryPeer>, "role" | keyof RegistryPeerProperties | keyof LowercaseEventProps> &
  RegistryPeerProperties &
  LowercaseEventProps;

declare module "preact" {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      "registry-peer": RegistryPeerPreactProps;
    }
  }
}
