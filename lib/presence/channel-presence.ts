import type { FastifyBaseLogger } from 'fastify'
import type { ChannelNamespaceOptions, ChannelPresenceMode } from '../channels/namespace.js'
import type { ConnectionInfo } from '../connection.js'
import type { CoreContext } from '../handlers/context.js'
import { echo } from '../channels/names.js'
import { WireError } from '../protocol/codes.js'
import { MAX_PRESENCE_USERS, type PresenceRequestData, type PresenceState } from '../protocol/presence-messages.js'
import type { PresenceBackend, PresenceChange, PresenceMember } from './backend.js'
import type { PresenceTracker } from './presence-tracker.js'

const SCOPE_PREFIX = 'channel:'

/** The presence scope of a channel: `channel:review:42`. */
function channelScope (channel: string): string {
  return SCOPE_PREFIX + channel
}

export function channelOfScope (scope: string): string | undefined {
  return scope.startsWith(SCOPE_PREFIX) ? scope.slice(SCOPE_PREFIX.length) : undefined
}

/** The presence mode of a channel's namespace (false for an undeclared one). */
export function presenceModeOf (namespaces: ReadonlyMap<string, ChannelNamespaceOptions>, channel: string): ChannelPresenceMode {
  return namespaces.get(channel.slice(0, channel.indexOf(':')))?.presence ?? false
}

export function hasChannelPresence (namespaces: ReadonlyMap<string, ChannelNamespaceOptions>): boolean {
  for (const namespace of namespaces.values()) if (namespace.presence !== undefined && namespace.presence !== false) return true
  return false
}

/** Puts connections in their channel's presence scope as they enter and leave channels with presence. */
export function trackChannelMembership (tracker: PresenceTracker, namespaces: ReadonlyMap<string, ChannelNamespaceOptions>) {
  return (connection: ConnectionInfo, channel: string, isIn: boolean): void => {
    if (presenceModeOf(namespaces, channel) === false) return
    if (isIn) tracker.enter(connection, [channelScope(channel)])
    else tracker.exit(connection, [channelScope(channel)])
  }
}

/**
 * presence.joined / presence.left to the channel's subscribers, for
 * namespaces that list users (a `'count'` namespace announces nothing: in a
 * big room every arrival would reach everyone).
 */
export function createChannelAnnouncer (deps: {
  namespaces: ReadonlyMap<string, ChannelNamespaceOptions>
  deliverToChannel (channel: string, type: string, data: unknown): Promise<number>
  log: FastifyBaseLogger
}): (change: PresenceChange) => void {
  return (change) => {
    const channel = channelOfScope(change.scope)
    /* c8 ignore next */ // the plugin hands this announcer channel scopes only
    if (channel === undefined || presenceModeOf(deps.namespaces, channel) !== true) return
    const type = change.status === 'online' ? 'presence.joined' : 'presence.left'
    deps.deliverToChannel(channel, type, { channel, user_id: change.userId }).catch((err: unknown) => {
      deps.log.warn({ err, channel }, 'fastify-realtime: could not announce a channel presence change to every node')
    })
  }
}

/** Who is in a channel, as the server API answers it. */
export interface ChannelPresence {
  channel: string
  /** Users in the channel across the cluster. */
  count: number
  /** Who they are, when there are at most `limit` of them (1,000 by default). */
  users?: PresenceMember[]
}

export async function presenceOfChannel (backend: PresenceBackend, channel: string, limit: number): Promise<ChannelPresence> {
  const { total, members } = await backend.members(channelScope(channel), limit)
  return total > limit ? { channel, count: total } : { channel, count: total, users: members }
}

/** presence {channel}: answered to a connection in that channel, for namespaces with presence. */
export async function handlePresenceRequest (data: PresenceRequestData, context: CoreContext, tracker: PresenceTracker): Promise<void> {
  const { channel } = data
  if (context.channels.parse(channel) === undefined) {
    context.sendError(WireError.invalidChannel, `Not a channel of a declared namespace: ${echo(channel)}`, { details: [echo(channel)] })
    return
  }
  const mode = presenceModeOf(context.channels.namespaces, channel)
  if (mode === false) {
    context.sendError(WireError.presenceDisabled, `The namespace of ${channel} keeps no presence`, { details: [channel] })
    return
  }
  if (!context.connection.channels.has(channel)) {
    context.sendError(WireError.notSubscribed, `Subscribe to ${channel} to see who is in it`, { details: [channel] })
    return
  }
  // a subscribe just confirmed may still be on its way to the backend: answer once it is there
  await tracker.settled(context.connection.id)
  const { total, members } = await tracker.backend.members(channelScope(channel), mode === 'count' ? 0 : MAX_PRESENCE_USERS)
  const state: PresenceState = { channel, count: total }
  if (mode === true && total <= MAX_PRESENCE_USERS) {
    state.users = members.map(member => ({ user_id: member.userId, connections: member.connections, joined_at: new Date(member.joinedAt).toISOString() }))
  }
  if (context.requestId !== undefined) state.request_id = context.requestId
  if (context.connection.isOpen) context.reply('presence.state', state)
}
