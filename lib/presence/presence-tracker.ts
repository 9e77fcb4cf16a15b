import type { FastifyBaseLogger } from 'fastify'
import { USERS_SCOPE, type PresenceBackend } from './backend.js'

/** What the tracker needs to know of a connection. */
export interface PresenceConnection {
  readonly id: string
  readonly userId: string
}

export interface PresenceTrackerOptions {
  backend: PresenceBackend
  /** Whether every connection is in the `users` scope (user presence is on). */
  tracksUsers: boolean
  log: FastifyBaseLogger
}

/**
 * The node's side of presence: hands each connection's joins and leaves to
 * the backend in the order they happened (a leave never overtakes its
 * join), and remembers which scopes each connection is in, so a closed
 * connection leaves all of them.
 */
export class PresenceTracker {
  readonly backend: PresenceBackend
  readonly tracksUsers: boolean
  readonly #log: FastifyBaseLogger
  /** Scopes of each connection this node holds. */
  readonly #scopes = new Map<string, Set<string>>()
  /** The last backend call of each connection, which the next one waits for. */
  readonly #queues = new Map<string, Promise<void>>()

  constructor (options: PresenceTrackerOptions) {
    this.backend = options.backend
    this.tracksUsers = options.tracksUsers
    this.#log = options.log
  }

  /** A connection was accepted. */
  connected (connection: PresenceConnection): void {
    if (this.tracksUsers) this.enter(connection, [USERS_SCOPE])
  }

  /** A connection was forgotten (closed by either side): it leaves every scope it was in. */
  disconnected (connection: PresenceConnection): void {
    const scopes = this.#scopes.get(connection.id)
    if (scopes === undefined) return
    this.#scopes.delete(connection.id)
    if (scopes.size === 0) return
    this.#enqueue(connection, () => this.backend.leave(connection.userId, connection.id, [...scopes]))
  }

  /** The connection entered scopes (subscribed to channels with presence). */
  enter (connection: PresenceConnection, scopes: readonly string[]): void {
    let held = this.#scopes.get(connection.id)
    if (held === undefined) {
      held = new Set()
      this.#scopes.set(connection.id, held)
    }
    const added = scopes.filter(scope => !held.has(scope))
    if (added.length === 0) return
    for (const scope of added) held.add(scope)
    this.#enqueue(connection, () => this.backend.join(connection.userId, connection.id, added))
  }

  /** The connection left scopes (unsubscribed) while staying open. */
  exit (connection: PresenceConnection, scopes: readonly string[]): void {
    const held = this.#scopes.get(connection.id)
    if (held === undefined) return
    const removed = scopes.filter(scope => held.delete(scope))
    if (removed.length === 0) return
    this.#enqueue(connection, () => this.backend.leave(connection.userId, connection.id, removed))
  }

  #enqueue (connection: PresenceConnection, call: () => Promise<void>): void {
    const previous = this.#queues.get(connection.id) ?? Promise.resolve()
    const next = previous.then(call).catch((err: unknown) => {
      this.#log.warn({ err, connectionId: connection.id }, 'fastify-realtime: presence update failed')
    })
    this.#queues.set(connection.id, next)
    void next.then(() => {
      if (this.#queues.get(connection.id) === next) this.#queues.delete(connection.id)
    })
  }

  /**
   * Resolves once the backend has every join and leave of this connection
   * so far (never rejects): an answer to it then includes its own subscribes.
   */
  settled (connectionId: string): Promise<void> {
    return this.#queues.get(connectionId) ?? Promise.resolve()
  }

  /** Waits for every backend call in flight, then closes the backend. */
  async close (): Promise<void> {
    await Promise.all([...this.#queues.values()])
    await this.backend.close()
  }
}
