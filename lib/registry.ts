/**
 * The indexes that make delivery cheap: connections by id, by user and by
 * subscribed event, so no delivery ever scans every connection to find its
 * recipients. No I/O here.
 */
export interface Registrable {
  readonly id: string
  readonly userId: string
  readonly subscriptions: ReadonlySet<string>
}

export class Registry<C extends Registrable> {
  readonly #byId = new Map<string, C>()
  /** Most users hold one connection: it is stored as is, a Set only from the second. */
  readonly #byUser = new Map<string, C | Set<C>>()
  readonly #byEvent = new Map<string, Set<C>>()

  add (connection: C): void {
    this.#byId.set(connection.id, connection)
    const forUser = this.#byUser.get(connection.userId)
    if (forUser === undefined) {
      this.#byUser.set(connection.userId, connection)
    } else if (forUser instanceof Set) {
      forUser.add(connection)
    } else {
      this.#byUser.set(connection.userId, new Set([forUser, connection]))
    }
  }

  /** Forgets a connection and all its index entries. Safe to call twice. */
  remove (connection: C): boolean {
    if (this.#byId.get(connection.id) !== connection) return false
    this.#byId.delete(connection.id)
    const forUser = this.#byUser.get(connection.userId)
    if (forUser === connection) {
      this.#byUser.delete(connection.userId)
    } else if (forUser instanceof Set) {
      forUser.delete(connection)
      if (forUser.size === 1) {
        const [last] = forUser
        this.#byUser.set(connection.userId, last as C)
      }
    }
    this.unindexEvents(connection, connection.subscriptions)
    return true
  }

  indexEvents (connection: C, events: Iterable<string>): void {
    for (const event of events) {
      let subscribers = this.#byEvent.get(event)
      if (subscribers === undefined) {
        subscribers = new Set()
        this.#byEvent.set(event, subscribers)
      }
      subscribers.add(connection)
    }
  }

  unindexEvents (connection: C, events: Iterable<string>): void {
    for (const event of events) {
      const subscribers = this.#byEvent.get(event)
      if (subscribers === undefined) continue
      subscribers.delete(connection)
      if (subscribers.size === 0) this.#byEvent.delete(event)
    }
  }

  get (connectionId: string): C | undefined {
    return this.#byId.get(connectionId)
  }

  forUser (userId: string): Iterable<C> | undefined {
    const forUser = this.#byUser.get(userId)
    return forUser === undefined || forUser instanceof Set ? forUser : [forUser]
  }

  countForUser (userId: string): number {
    const forUser = this.#byUser.get(userId)
    return forUser === undefined ? 0 : (forUser instanceof Set ? forUser.size : 1)
  }

  subscribers (event: string): ReadonlySet<C> | undefined {
    return this.#byEvent.get(event)
  }

  all (): IterableIterator<C> {
    return this.#byId.values()
  }

  /** Subscriber count per event, for stats. */
  subscriptionCounts (): Record<string, number> {
    // event names are the host's strings: no prototype for one named "__proto__" to reach
    const counts: Record<string, number> = Object.create(null) as Record<string, number>
    for (const [event, subscribers] of this.#byEvent) counts[event] = subscribers.size
    return counts
  }

  get size (): number {
    return this.#byId.size
  }

  get userCount (): number {
    return this.#byUser.size
  }

  get eventCount (): number {
    return this.#byEvent.size
  }
}
