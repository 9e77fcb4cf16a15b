import type { FastifyBaseLogger } from 'fastify'
import type { Adapter } from '../adapters/adapter.js'
import type { RealtimeNode } from '../realtime-node.js'
import type { ResolvedOptions } from '../options.js'
import type { CoreContext } from '../handlers/context.js'
import { PresenceRequestDataSchema } from '../protocol/presence-messages.js'
import { USERS_SCOPE, type PresenceBackendContext, type PresenceChange } from './backend.js'
import { MemoryPresence } from './memory-presence.js'
import { PresenceTracker } from './presence-tracker.js'
import { createUserStatusAnnouncer } from './user-status.js'
import { channelOfScope, createChannelAnnouncer, handlePresenceRequest, hasChannelPresence, trackChannelMembership } from './channel-presence.js'
import type { Counters } from '../stats.js'

/** The grace when only channels keep presence (the `presence` option is left out). */
const DEFAULT_GRACE_MS = 5000

/**
 * Turns presence on for the node when the `presence` option or a namespace
 * asks for it: the backend (the adapter's, shared by the cluster, or this
 * process's), the connection and channel hooks, the `presence` request, and
 * the announcements (`user.status_changed`, `presence.joined` / `presence.left`).
 */
export function createPresence (options: ResolvedOptions, adapter: Adapter, node: RealtimeNode, log: FastifyBaseLogger): PresenceTracker | undefined {
  const tracksUsers = options.presence !== undefined
  const tracksChannels = hasChannelPresence(options.channels)
  if (!tracksUsers && !tracksChannels) return undefined

  const announceUser = createUserStatusAnnouncer({ audience: options.presence?.audience, deliver: (target, type, data) => node.outbound.deliverTo(target, type, data), log })
  const announceChannel = createChannelAnnouncer({ namespaces: options.channels, deliverToChannel: (channel, type, data) => node.outbound.announceToChannel(channel, type, data), log })
  const context: PresenceBackendContext = {
    offlineGraceMs: options.presence?.offlineGraceMs ?? DEFAULT_GRACE_MS,
    log,
    clock: options.clock,
    changed (change: PresenceChange) {
      countChange(node.counters, change)
      if (change.scope === USERS_SCOPE) announceUser(change)
      else announceChannel(change)
    }
  }
  let backend = adapter.presence?.(context)
  if (backend === undefined) {
    log.warn('fastify-realtime: the adapter keeps no presence state; presence counts this node\'s connections only')
    backend = new MemoryPresence(context)
  }
  const tracker = new PresenceTracker({ backend, tracksUsers, log })
  if (tracksChannels) {
    node.channels.index.onMembership = trackChannelMembership(tracker, options.channels)
    node.router.add('presence', PresenceRequestDataSchema, (data, ctx) => handlePresenceRequest(data, ctx as CoreContext, tracker))
  }
  return tracker
}

/** A change this node's backend decided, tallied for the metrics (one node decides each change, so the cluster's sum counts it once). */
function countChange (counters: Counters, change: PresenceChange): void {
  if (change.scope === USERS_SCOPE) {
    counters.countUserStatus(change.status)
    return
  }
  const channel = channelOfScope(change.scope)
  /* c8 ignore next */ // the backend is handed the users scope and channel scopes only
  if (channel === undefined) return
  counters.countChannelPresence(channel.slice(0, channel.indexOf(':')), change.status === 'online' ? 'joined' : 'left')
}
