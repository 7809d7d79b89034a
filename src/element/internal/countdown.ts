/**
 * The rate-limit countdown ("Try again in 12 s"): when a step may be retried and a once-a-second
 * tick that re-renders the host until then. One timer at most; `clear()` releases it.
 */
import type { ReactiveControllerHost } from "lit";

export class Countdown {
  /** When the step may be retried (ms epoch), 0 when not waiting. */
  #until = 0;
  #now = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #host: ReactiveControllerHost;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
  }

  start(sec: number): void {
    const until = Date.now() + sec * 1000;
    const tick = () => {
      this.#now = Date.now();
      this.#timer = this.#now < until ? setTimeout(tick, Math.min(1000, until - this.#now)) : undefined;
      this.#host.requestUpdate();
    };
    clearTimeout(this.#timer);
    this.#until = until;
    tick();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#until = 0;
  }

  /** Whole seconds left, 0 when not waiting. */
  get seconds(): number {
    return this.#until ? Math.max(0, Math.ceil((this.#until - this.#now) / 1000)) : 0;
  }
}
