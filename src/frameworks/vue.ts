/**
 * `<registry-peer>` in Vue 3 templates, for vue-tsc and Volar: `import type {} from
 * "registry-peer/vue";` once. Types only; nothing runs. Vue itself must be told the tag is a
 * custom element (`compilerOptions.isCustomElement`; see the README).
 *
 * Vue sets a binding as a property when the element has it (`:base-url`/`:baseUrl`,
 * `:client-options`), else as an attribute; `@peer-open` listens for the `peer-open` event.
 */
import type { DefineComponent } from "vue";
import type { RegistryPeerProperties, VueEventProps } from "./props.ts";

export type RegistryPeerVueProps = RegistryPeerProperties & VueEventProps;

declare module "vue" {
  interface GlobalComponents {
    "registry-peer": DefineComponent<RegistryPeerVueProps>;
  }
}
