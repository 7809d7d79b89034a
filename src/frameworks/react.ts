/**
 * `<registry-peer>` in React 19 TSX: `import type {} from "registry-peer/react";` once (or
 * `/// <reference types="registry-peer/react" />`). Types only; nothing runs.
 *
 * React 19 sets a prop as a property when the element has it (`baseUrl`, `role`,
 * `clientOptions`, …), else as an attribute (`base-url` works too), and turns `on<name>` into
 * `addEventListener(name)` with the name as written: `onpacket`, `onpeer-open`.
 */
import type { DetailedHTMLProps, HTMLAttributes } from "react";
import type { RegistryPeer } from "../element/registry-peer.ts";
import type { LowercaseEventProps, RegistryPeerProperties } from "./props.ts";

export type RegistryPeerReactProps = Omit<DetailedHTMLProps<HTMLAttributes<RegistryPeer>, RegistryPeer>, "role"> &
  RegistryPeerProperties &
  LowercaseEventProps;

declare module "react" {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      "registry-peer": RegistryPeerReactProps;
    }
  }
}
