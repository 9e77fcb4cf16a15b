import { Type, type Static } from '@sinclair/typebox'

/** Most users a presence.state lists; past it the answer carries the count alone. */
export const MAX_PRESENCE_USERS = 1000

/** presence {channel}: who is in a channel the connection is subscribed to (namespaces with presence only). */
export const PresenceRequestDataSchema = Type.Object({
  channel: Type.String()
})
export type PresenceRequestData = Static<typeof PresenceRequestDataSchema>

export const PresenceUserSchema = Type.Object({
  user_id: Type.String(),
  /** The user's connections in the channel, across the cluster (0 while their offline grace runs). */
  connections: Type.Integer({ minimum: 0 }),
  /** ISO 8601: when the user entered the channel (kept through a reconnect within the grace). */
  joined_at: Type.String({ description: 'ISO 8601 date-time' })
})
export type PresenceUser = Static<typeof PresenceUserSchema>

export const PresenceStateSchema = Type.Object({
  channel: Type.String(),
  /** Users in the channel across the cluster. */
  count: Type.Integer({ minimum: 0 }),
  /** Who they are: absent for a `presence: 'count'` namespace and past MAX_PRESENCE_USERS users. */
  users: Type.Optional(Type.Array(PresenceUserSchema)),
  /** The `id` of the presence request this answers, when it had one. */
  request_id: Type.Optional(Type.String())
})
export type PresenceState = Static<typeof PresenceStateSchema>

/** A user (not a connection) entered or left a channel: sent to the channel's subscribers, once per change. */
export const PresenceJoinedSchema = Type.Object({
  channel: Type.String(),
  user_id: Type.String()
})
export type PresenceJoined = Static<typeof PresenceJoinedSchema>
export const PresenceLeftSchema = PresenceJoinedSchema
export type PresenceLeft = PresenceJoined

/** Schemas of the data of the presence messages a server sends. */
export const PresenceSchemas = {
  'presence.state': PresenceStateSchema,
  'presence.joined': PresenceJoinedSchema,
  'presence.left': PresenceLeftSchema
} as const
