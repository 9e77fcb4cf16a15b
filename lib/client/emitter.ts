/** Argument tuples by event name. */
export type EventArgs<M> = { [K in keyof M]: readonly unknown[] }
export type Listener<A extends readonly unknown[]> = (...args: A) => void

/**
 * A minimal typed event emitter (browsers have no `events` module and the
 * client has no dependencies). Listeners run in registration order; one that
 * throws does not stop the others: `onListenerError` decides what happens.
 */
export class TypedEmitter<M extends EventArgs<M>> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>()
  readonly #onListenerError: (err: unknown, event: keyof M) => void

  constructor (onListenerError: (err: unknown, event: keyof M) => void) {
    this.#onListenerError = onListenerError
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    return () => this.off(event, listener)
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const off = this.on(event, ((...args: M[K]) => {
      off()
      listener(...args)
    }) as Listener<M[K]>)
    return off
  }

  off<K extends keyof M>(event: K, listener: Listener<M[K]>): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    set.delete(listener as Listener<never>)
    if (set.size === 0) this.#listeners.delete(event)
  }

  listenerCount (event: keyof M): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  emit<K extends keyof M>(event: K, ...args: M[K]): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    // a copy: listeners may remove themselves (once) while we iterate
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(...args)
      } catch (err) {
        this.#onListenerError(err, event)
      }
    }
  }
}
