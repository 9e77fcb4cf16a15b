import { InvalidPresenceQueryError, PresenceDisabledError } from '../errors.js'
import { USERS_SCOPE } from './backend.js'
import type { PresenceTracker } from './presence-tracker.js'
import type { Channels } from '../channels/channels.js'
import { MAX_PRESENCE_USERS } from '../protocol/presence-messages.js'
import { presenceModeOf, presenceOfChannel, type ChannelPresence } from './channel-presence.js'

/** The presence part of `app.realtime`: cluster-wide answers (one Redis round trip each with the Redis adapter). */
export interface PresenceApi {
  /** Whether the user holds a connection anywhere (true through the offline grace). Needs the `presence` option. */
  isOnline (userId: string): Promise<boolean>
  /** Those of `userIds` who are online, each once, in the order given: one round trip however many. */
  onlineUsers (userIds: readonly string[]): Promise<string[]>
  /** How many users are online across the cluster. */
  onlineCount (): Promise<number>
  /**
   * Who is in a channel of a namespace with presence (`true` or `'count'`),
   * across the cluster: the count, and the users when there are at most
   * `limit` (1,000 by default).
   */
  presenceOf (channel: string, options?: { limit?: number }): Promise<ChannelPresence>
}

export function createPresenceApi (tracker: PresenceTracker | undefined, channels: Pick<Channels, 'parse' | 'namespaces'>): PresenceApi {
  const users = (): PresenceTracker => {
    if (tracker === undefined || !tracker.tracksUsers) throw new PresenceDisabledError('user presence is off: register the plugin with presence: true or presence: { ... }')
    return tracker
  }
  return {
    async isOnline (userId) {
      const presence = users()
      if (typeof userId !== 'string') throw new InvalidPresenceQueryError('userId must be a string')
      return presence.backend.isPresent(USERS_SCOPE, userId)
    },
    async onlineUsers (userIds) {
      const presence = users()
      if (!Array.isArray(userIds) || !userIds.every(userId => typeof userId === 'string')) {
        throw new InvalidPresenceQueryError('userIds must be an array of strings')
      }
      if (userIds.length === 0) return []
      return presence.backend.presentAmong(USERS_SCOPE, userIds)
    },
    async onlineCount () {
      return users().backend.count(USERS_SCOPE)
    },
    async presenceOf (channel, options = {}) {
      const limit = options.limit ?? MAX_PRESENCE_USERS
      if (!Number.isInteger(limit) || limit < 0) throw new InvalidPresenceQueryError('limit must be a whole number of users')
      if (channels.parse(channel) === undefined) throw new InvalidPresenceQueryError(`not a channel of a declared namespace: ${String(channel).slice(0, 200)}`)
      if (tracker === undefined || presenceModeOf(channels.namespaces, channel) === false) {
        throw new PresenceDisabledError(`the namespace of ${channel} keeps no presence: declare it with presence: true or 'count'`)
      }
      return presenceOfChannel(tracker.backend, channel, limit)
    }
  }
}
