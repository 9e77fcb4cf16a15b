import { Type, type Static } from '@sinclair/typebox'
import { MAX_NAMES_PER_SUBSCRIBE } from './constants.js'
import type { PresenceRequestData } from './presence-messages.js'

export { MAX_NAMES_PER_SUBSCRIBE }

export const PingDataSchema = Type.Object({
  pingId: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Number(), Type.Null()], { description: 'Echoed in the pong' }))
})
export type PingData = Static<typeof PingDataSchema>

export const HeartbeatDataSchema = Type.Object({})
export type HeartbeatData = Static<typeof HeartbeatDataSchema>

/**
 * subscribe / unsubscribe: event types, channels (`namespace:id`), or both;
 * each list 1-100 names when given, and at least one list given (the
 * handler answers INVALID_MESSAGE otherwise). Channel names are checked by
 * the handler, not here, so a malformed one is answered INVALID_CHANNEL
 * naming it (the frame's size is already bounded by maxMessageSize).
 */
export const SubscribeListsSchema = Type.Object({
  events: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { minItems: 1, maxItems: MAX_NAMES_PER_SUBSCRIBE, description: 'Event types, each one of the server\'s `events`' })),
  channels: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: MAX_NAMES_PER_SUBSCRIBE, description: 'Channels `namespace:id` of declared namespaces' }))
})

/** A position the client holds (what subscription.confirmed, connection.established and the offsets told it). */
export const ClientPositionSchema = Type.Object({
  epoch: Type.String({ minLength: 1, maxLength: 64 }),
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
})
export type ClientPosition = Static<typeof ClientPositionSchema>

/**
 * subscribe may carry `recover`: by channel of its `channels`, the
 * position the client last had. The server answers subscription.confirmed,
 * then every message of those channels after the position, in order, then
 * recovery.result. A key that is not one of `channels` is ignored.
 */
export const SubscribeDataSchema = Type.Object({
  events: SubscribeListsSchema.properties.events,
  channels: SubscribeListsSchema.properties.channels,
  recover: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), ClientPositionSchema, { maxProperties: MAX_NAMES_PER_SUBSCRIBE }))
})
export type SubscribeData = Static<typeof SubscribeDataSchema>
export const UnsubscribeDataSchema = SubscribeListsSchema
export type UnsubscribeData = Static<typeof UnsubscribeDataSchema>

/** The seed's upload.cancel; host apps register it (see the example app). */
export const UploadCancelDataSchema = Type.Object({
  upload_id: Type.String({ minLength: 1, maxLength: 256, description: 'The upload to cancel' })
}, { description: 'Cancels one of your uploads; answered with upload.cancelled, or an error' })
export type UploadCancelData = Static<typeof UploadCancelDataSchema>

/** Data of each client message type the protocol defines. */
export interface ClientMessages {
  ping: PingData
  heartbeat: HeartbeatData
  subscribe: SubscribeData
  unsubscribe: UnsubscribeData
  'upload.cancel': UploadCancelData
  /** Who is in a channel (namespaces with `presence`); answered by presence.state. */
  presence: PresenceRequestData
}
export type ClientMessageType = keyof ClientMessages
export type ClientMessage<K extends ClientMessageType = ClientMessageType> = {
  type: K
  data: ClientMessages[K]
  timestamp?: string
  id?: string
}
