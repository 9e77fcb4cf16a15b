import type { ChannelMessage } from './types.js'

/** The onChannel() listeners, by channel. */
export class ChannelListeners {
  readonly #byChannel = new Map<string, Set<(message: ChannelMessage) => void>>()

  /** Returns the function that removes the listener. */
  add (channel: string, listener: (message: ChannelMessage) => void): () => void {
    let listeners = this.#byChannel.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.#byChannel.set(channel, listeners)
    }
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
      if (listeners.size === 0 && this.#byChannel.get(channel) === listeners) this.#byChannel.delete(channel)
    }
  }

  /** A message published to a channel: each of its listeners; one that throws is reported and the others still run. */
  deliver (message: ChannelMessage, failed: (cause: unknown) => void): void {
    const listeners = this.#byChannel.get(message.channel)
    if (listeners === undefined) return
    for (const listener of [...listeners]) {
      try {
        listener(message)
      } catch (cause) {
        failed(cause)
      }
    }
  }
}
