import type { FastifyBaseLogger } from 'fastify'
import type { PresenceChange, PresenceMember } from '../presence/backend.js'
import { MemoryPresence } from '../presence/memory-presence.js'

/** The part of a hub's worker that presence needs: a way to tell it a change. */
export interface PresenceWorker {
  /** Whether it is still part of the cluster (a change is never given to a worker gone). */
  readonly isAlive: boolean
  announce (change: PresenceChange): void
}

/**
 * Presence of every worker, kept in the primary by one MemoryPresence: the
 * primary is the one place that sees every join and leave, in order, so it
 * decides each change once. The worker whose join or leave decided a change
 * announces it; a change decided later by a grace timer goes to the worker
 * that made the last leave, or to any living worker if that one is gone.
 */
export class HubPresence {
  readonly #presence: MemoryPresence
  readonly offlineGraceMs: number
  /** The worker whose call is running: MemoryPresence decides synchronously, inside the call. */
  #deciding: PresenceWorker | undefined
  /** `scope\nuserId` -> the worker of the last leave, told the offline its grace timer decides. */
  readonly #lastLeaver = new Map<string, PresenceWorker>()
  readonly #anyWorker: () => PresenceWorker | undefined

  constructor (offlineGraceMs: number, log: FastifyBaseLogger, anyWorker: () => PresenceWorker | undefined) {
    this.offlineGraceMs = offlineGraceMs
    this.#anyWorker = anyWorker
    this.#presence = new MemoryPresence({ offlineGraceMs, log, changed: (change) => this.#changed(change) })
  }

  #changed (change: PresenceChange): void {
    const key = `${change.scope}\n${change.userId}`
    let to = this.#deciding
    if (to === undefined) {
      to = this.#lastLeaver.get(key)
      if (to?.isAlive !== true) to = this.#anyWorker()
    }
    if (change.status === 'offline') this.#lastLeaver.delete(key)
    // no worker left: nobody is connected to hear it
    to?.announce(change)
  }

  join (from: PresenceWorker | undefined, userId: string, connectionId: string, scopes: readonly string[]): void {
    this.#deciding = from
    try {
      void this.#presence.join(userId, connectionId, scopes)
    } finally {
      this.#deciding = undefined
    }
  }

  leave (from: PresenceWorker | undefined, userId: string, connectionId: string, scopes: readonly string[]): void {
    if (from !== undefined) for (const scope of scopes) this.#lastLeaver.set(`${scope}\n${userId}`, from)
    this.#deciding = from
    try {
      void this.#presence.leave(userId, connectionId, scopes)
    } finally {
      this.#deciding = undefined
    }
  }

  isPresent (scope: string, userId: string): Promise<boolean> { return this.#presence.isPresent(scope, userId) }
  presentAmong (scope: string, userIds: readonly string[]): Promise<string[]> { return this.#presence.presentAmong(scope, userIds) }
  count (scope: string): Promise<number> { return this.#presence.count(scope) }
  members (scope: string, limit: number): Promise<{ total: number, members: PresenceMember[] }> { return this.#presence.members(scope, limit) }

  close (): Promise<void> {
    this.#lastLeaver.clear()
    return this.#presence.close()
  }
}
