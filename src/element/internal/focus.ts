/**
 * Focus follows the flow: when the control that had focus goes away with its view (after create,
 * join, an error, leave), the new view's enabled `[data-focus]` control takes it, else the status line
 * (`#status`, focusable with tabindex -1) while nothing else exists. Only when focus was inside
 * the element before the update: focus elsewhere on the page is never taken.
 */
import type { ReactiveController, ReactiveElement } from "lit";

export class FocusFollower implements ReactiveController {
  readonly #host: ReactiveElement;
  #hadFocus = false;

  constructor(host: ReactiveElement) {
    this.#host = host;
    host.addController(this);
  }

  /** Before the render: was focus inside? */
  hostUpdate(): void {
    this.#hadFocus = !!this.#host.shadowRoot?.activeElement;
  }

  hostUpdated(): void {
    const root = this.#host.renderRoot as ShadowRoot;
    const active = root.activeElement;
    if (this.#hadFocus && (!active || active.id === "status")) {
      // A disabled control (Try again while a wait runs) cannot take focus: the status line does,
      // and the control gets it once enabled (that re-render finds focus on the status line).
      (root.querySelector<HTMLElement>("[data-focus]:not(:disabled)") ?? root.getElementById("status"))?.focus();
    }
  }
}
