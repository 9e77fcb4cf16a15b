import type { PresenceBackend, PresenceBackendContext, PresenceMember } from './backend.js'
import { systemClock, unrefTimer, type RealtimeClock, type TimerHandle } from '../clock.js'

interface Presence {
  readonly connections: Set<string>
  readonly joinedAt: number
  /** Set while the user has no connection left in the scope and the grace runs. */
  leaving: TimerHandle | undefined
}

/**
 * Presence in one process: the whole cluster is this node, so every join and
 * leave is decided here, synchronously, in the order it happens.
 */
export class MemoryPresence implements PresenceBackend {
  readonly #context: PresenceBackendContext
  readonly #scopes = new Map<string, Map<string, Presence>>()
  readonly #now: () => number
  readonly #clock: RealtimeClock

  /** `now` stamps joins and leaves; the context's clock by default. */
  constructor (context: PresenceBackendContext, now?: () => number) {
    this.#context = context
    const clock = context.clock ?? systemClock
    this.#clock = clock
    this.#now = now ?? (() => clock.now())
  }

  async start (): Promise<void> {}

  async join (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) {
      let users = this.#scopes.get(scope)
      if (users === undefined) {
        users = new Map()
        this.#scopes.set(scope, users)
      }
      const presence = users.get(userId)
      if (presence === undefined) {
        const at = this.#now()
        users.set(userId, { connections: new Set([connectionId]), joinedAt: at, leaving: undefined })
        this.#context.changed({ scope, userId, status: 'online', at })
        continue
      }
      // back within the grace: nobody hears they were gone
      this.#clock.clearTimeout(presence.leaving)
      presence.leaving = undefined
      presence.connections.add(connectionId)
    }
  }

  async leave (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) {
      const presence = this.#scopes.get(scope)?.get(userId)
      if (presence === undefined || !presence.connections.delete(connectionId) || presence.connections.size > 0) continue
      if (this.#context.offlineGraceMs === 0) {
        this.#drop(scope, userId, presence)
        continue
      }
      presence.leaving = this.#clock.setTimeout(() => this.#drop(scope, userId, presence), this.#context.offlineGraceMs)
      unrefTimer(presence.leaving)
    }
  }

  #drop (scope: string, userId: string, presence: Presence): void {
    const users = this.#scopes.get(scope)
    /* c8 ignore next */ // a timer whose user came back is cleared first; kept as a guard
    if (users?.get(userId) !== presence || presence.connections.size > 0) return
    users.delete(userId)
    if (users.size === 0) this.#scopes.delete(scope)
    this.#context.changed({ scope, userId, status: 'offline', at: this.#now() })
  }

  async isPresent (scope: string, userId: string): Promise<boolean> {
    return this.#scopes.get(scope)?.has(userId) ?? false
  }

  async presentAmong (scope: string, userIds: readonly string[]): Promise<string[]> {
    const users = this.#scopes.get(scope)
    if (users === undefined) return []
    return [...new Set(userIds)].filter(userId => users.has(userId))
  }

  async count (scope: string): Promise<number> {
    return this.#scopes.get(scope)?.size ?? 0
  }

  async members (scope: string, limit: number): Promise<{ total: number, members: PresenceMember[] }> {
    const users = this.#scopes.get(scope)
    if (users === undefined) return { total: 0, members: [] }
    const members: PresenceMember[] = []
    if (users.size > limit) return { total: users.size, members }
    for (const [userId, presence] of users) {
      members.push({ userId, connections: presence.connections.size, joinedAt: presence.joinedAt })
    }
    return { total: users.size, members }
  }

  async close (): Promise<void> {
    for (const users of this.#scopes.values()) {
      for (const presence of users.values()) this.#clock.clearTimeout(presence.leaving)
    }
    this.#scopes.clear()
  }
}
