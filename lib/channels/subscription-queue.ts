/**
 * One connection's subscribe and unsubscribe requests, run in the order
 * they arrived even when a channel's authorize answers late, so that
 * "subscribe X, unsubscribe X" never ends subscribed. A request that needs
 * no waiting runs at once, as before channels existed.
 */
interface Pending {
  tail: Promise<void>
  /** Requests queued behind the one running. */
  waiting: number
  /** Aborted when the connection goes: the running authorization stops waiting. */
  readonly controllers: Set<AbortController>
  /** Channels the server took the connection out of meanwhile, with the reason: a late "yes" must not undo a revocation. */
  left: Map<string, string> | undefined
}

export type QueuedOperation = (controller: AbortController) => void | Promise<void>

/** Requests one connection may have waiting behind a pending authorization. */
const MAX_WAITING_REQUESTS = 8

export class SubscriptionQueue<C extends { readonly isOpen: boolean }> {
  readonly #pending = new Map<C, Pending>()

  /** Runs `operation` now or after the connection's earlier ones; false if too many are waiting. */
  run (connection: C, operation: QueuedOperation): boolean {
    const pending = this.#pending.get(connection)
    if (pending === undefined) {
      const controller = new AbortController()
      const result = operation(controller)
      if (result === undefined) return true
      const created: Pending = { tail: result, waiting: 0, controllers: new Set([controller]), left: undefined }
      this.#pending.set(connection, created)
      this.#whenSettled(connection, created, result, controller)
      return true
    }
    if (pending.waiting >= MAX_WAITING_REQUESTS) return false
    pending.waiting++
    const controller = new AbortController()
    pending.controllers.add(controller)
    const next = pending.tail.catch(() => {}).then(() => {
      pending.waiting--
      if (!connection.isOpen || controller.signal.aborted) return
      return operation(controller)
    })
    pending.tail = next
    this.#whenSettled(connection, pending, next, controller)
    return true
  }

  /** The server took the connection out of `channel`: remembered while it has requests pending. */
  noteLeave (connection: C, channel: string, reason: string): void {
    const pending = this.#pending.get(connection)
    if (pending === undefined) return
    pending.left ??= new Map()
    pending.left.set(channel, reason)
  }

  /** Why the server took the connection out of `channel` while its requests were pending, if it did. */
  leftWhilePending (connection: C, channel: string): string | undefined {
    return this.#pending.get(connection)?.left?.get(channel)
  }

  /** The connection is gone: stop what it waits for. */
  forget (connection: C): void {
    const pending = this.#pending.get(connection)
    if (pending === undefined) return
    this.#pending.delete(connection)
    for (const controller of pending.controllers) controller.abort(new Error('connection closed'))
  }

  #whenSettled (connection: C, pending: Pending, settled: Promise<void>, controller: AbortController): void {
    // operations handle their own failures; a rejection here is a bug, never a reason to stop the queue
    settled.catch(() => {}).then(() => {
      pending.controllers.delete(controller)
      if (pending.tail === settled && this.#pending.get(connection) === pending) this.#pending.delete(connection)
    }, () => {})
  }
}
