/** Registers `<registry-peer>` (once, so a second copy of the bundle on the page is harmless). */
import { RegistryPeer } from "./registry-peer.component.ts";

export { RegistryPeer };
export type * from "./events.ts";

declare global {
  interface HTMLElementTagNameMap {
    "registry-peer": RegistryPeer;
  }
}

if (!customElements.get("registry-peer")) customElements.define("registry-peer", RegistryPeer);
