/**
 * A scope over the injected setTimeout/clearTimeout: every timer it starts is tracked, and
 * `clear()` cancels all of them and starts none after it (close() leaves no timer behind, even
 * when an app callback closed the client while a part was about to set one). Callbacks never
 * throw into the host timer: errors go to `onError`.
 */
export class TimerScope {
  readonly #live = new Map<number, unknown>();
  #next = 1;
  #cleared = false;
  readonly #setTimeout: (fn: () => void, ms: number) => unknown;
  readonly #clearTimeout: (t: unknown) => void;
  readonly #onError: (err: unknown) => void;
  constructor(
    setTimeoutImpl: (fn: () => void, ms: number) => unknown,
    clearTimeoutImpl: (t: unknown) => void,
    onError: (err: unknown) => void,
  ) {
    this.#setTimeout = setTimeoutImpl;
    this.#clearTimeout = clearTimeoutImpl;
    this.#onError = onError;
  }

  /** Runs fn after ms (never after clear()); returns an id for cancel(). */
  set(fn: () => void, ms: number): number {
    const id = this.#next++;
    if (this.#cleared) return id;
    const handle = this.#setTimeout(() => {
      if (!this.#live.delete(id)) return; // cancelled while the host timer was already firing
      try {
        fn();
      } catch (err) {
        this.#onError(err);
      }
    }, ms);
    this.#live.set(id, handle);
    return id;
  }

  cancel(id: number | undefined): void {
    if (id === undefined || !this.#live.has(id)) return;
    this.#clearTimeout(this.#live.get(id));
    this.#live.delete(id);
  }

  /**
   * A promise resolved after ms, or rejected with `AbortError` when the signal aborts, or at once
   * after clear() (no timer would end it).
   */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted || this.#cleared) return reject(abortError());
      const onAbort = () => {
        this.cancel(id);
        reject(abortError());
      };
      const id = this.set(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  get size(): number {
    return this.#live.size;
  }

  clear(): void {
    this.#cleared = true;
    for (const handle of this.#live.values()) this.#clearTimeout(handle);
    this.#live.clear();
  }
}

export function abortError(): Error {
  const e = new Error("aborted");
  e.name = "AbortError";
  return e;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}
