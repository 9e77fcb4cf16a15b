import type { FastifyBaseLogger } from 'fastify'
import type { Adapter, DeliveryTarget } from '../adapters/adapter.js'
import { USERS_SCOPE, type PresenceBackendContext, type PresenceChange } from './backend.js'
import { MemoryPresence } from './memory-presence.js'
import { PresenceTracker } from './presence-tracker.js'
import { createUserStatusAnnouncer } from './user-status.js'
import type { ResolvedPresenceOptions } from './options.js'

export interface PresenceDeps {
  options: ResolvedPresenceOptions
  adapter: Adapter
  deliver (target: DeliveryTarget, type: string, data: unknown): Promise<number>
  log: FastifyBaseLogger
}

/**
 * Presence on the adapter's backend (shared by the cluster), or kept in this
 * process when the adapter has none. Changes of the `users` scope become
 * `user.status_changed`.
 */
export function createPresence (deps: PresenceDeps): PresenceTracker {
  const announceUser = createUserStatusAnnouncer({ audience: deps.options.audience, deliver: deps.deliver, log: deps.log })
  const context: PresenceBackendContext = {
    offlineGraceMs: deps.options.offlineGraceMs,
    log: deps.log,
    changed (change: PresenceChange) {
      if (change.scope === USERS_SCOPE) announceUser(change)
    }
  }
  let backend = deps.adapter.presence?.(context)
  if (backend === undefined) {
    deps.log.warn('fastify-realtime: the adapter keeps no presence state; presence counts this node\'s connections only')
    backend = new MemoryPresence(context)
  }
  return new PresenceTracker({ backend, tracksUsers: true, log: deps.log })
}
