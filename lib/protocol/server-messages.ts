import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { PresenceJoined, PresenceLeft, PresenceState } from './presence-messages.js'

/**
 * Every message the server sends travels in this envelope. `timestamp` and
 * `id` are set by the server when the message is built (once per message,
 * however many connections receive it).
 */
export const ServerEnvelopeSchema = <T extends TSchema>(type: string, data: T) =>
  Type.Object({
    type: Type.Literal(type),
    data,
    timestamp: Type.String({ format: 'date-time', description: 'When the server built the message' }),
    id: Type.String({ description: 'Unique per message (a UUID)' }),
    channel: Type.Optional(Type.String({ description: 'Set on a message published to a channel: the channel (`namespace:id`) it was published to' })),
    offset: Type.Optional(Type.Integer({ minimum: 1, description: 'Position in the message\'s stream: the channel\'s (with `channel`) or the inbox\'s (with `inbox`)' })),
    inbox: Type.Optional(Type.Literal(true, { description: 'Set on a message of the user\'s inbox delivered in its inbox form (then `offset` is the inbox\'s)' })),
    inbox_offset: Type.Optional(Type.Integer({ minimum: 1, description: 'On a channel copy that is also the user\'s inbox message: its position in the inbox' }))
  })

export interface ServerEnvelope<TType extends string = string, TData = unknown> {
  type: TType
  data: TData
  /** ISO 8601, when the server built the message. */
  timestamp: string
  /** Unique per message (a UUID). */
  id: string
  /** The channel (`namespace:id`) the message was published to; absent on event and targeted deliveries. */
  channel?: string
  /**
   * The message's position in its stream (see StreamPosition): with
   * `channel`, in that channel's history (only when its namespace has
   * `history`); with `inbox`, in the user's inbox.
   */
  offset?: number
  /** The message is in the user's inbox and came in its inbox form (no `channel`): `offset` is the inbox's. */
  inbox?: true
  /**
   * The message is both in a channel the connection is in and in the user's
   * inbox (a targeted review change to a member): it comes once, in its
   * channel form, and this is its inbox offset, so that neither stream's
   * recovery sends it again.
   */
  inbox_offset?: number
}

/**
 * Where a stream is: `offset` is the last message's (0 for a stream with no
 * message yet); `epoch` names the stream's history and changes when that
 * history is lost (a Redis restarted empty, a stream forgotten after a long
 * idle): a position of another epoch cannot be recovered.
 */
export const StreamPositionSchema = Type.Object({
  epoch: Type.String({ minLength: 1, maxLength: 64 }),
  offset: Type.Integer({ minimum: 0 })
})
export type StreamPosition = Static<typeof StreamPositionSchema>

/** The key of the user's inbox in recovery.result's `streams` (a channel's key is its name). */
export const INBOX_STREAM = 'inbox'

/**
 * Why a stream was not recovered: its history was lost (`epoch_changed`),
 * the missed messages are beyond the history's size or ttl (`too_old`),
 * more than maxRecoveredMessages were missed (`too_many`), the stream keeps
 * no history (`no_history`), the channel's authorize refused or the
 * connection left it (`forbidden`), or the history could not be read right
 * now (`unavailable`, e.g. Redis is down). In every case the client must
 * refetch the state the stream's messages would have told it about.
 */
export const RecoveryFailureReasonSchema = Type.Union([
  Type.Literal('epoch_changed'), Type.Literal('too_old'), Type.Literal('too_many'),
  Type.Literal('no_history'), Type.Literal('forbidden'), Type.Literal('unavailable')
])
export type RecoveryFailureReason = Static<typeof RecoveryFailureReasonSchema>

/** The outcome for one stream; `position` is where the stream is now: the client continues from there. */
export const StreamRecoverySchema = Type.Union([
  Type.Object({
    recovered: Type.Literal(true),
    /** How many missed messages were sent, in order, just before this result. */
    missed: Type.Integer({ minimum: 0 }),
    position: Type.Optional(StreamPositionSchema)
  }),
  Type.Object({
    recovered: Type.Literal(false),
    reason: RecoveryFailureReasonSchema,
    position: Type.Optional(StreamPositionSchema)
  })
])
export type StreamRecovery = Static<typeof StreamRecoverySchema>

/**
 * After a subscribe with `recover` (following its subscription.confirmed
 * and the replayed messages), after connection.established for the inbox
 * (`inbox=<epoch>:<offset>` on the URL), or unasked when a stream's epoch
 * changed under a connected client (reason epoch_changed, with the new
 * position).
 */
export const RecoveryResultSchema = Type.Object({
  /** By stream: a channel name, or INBOX_STREAM ('inbox'). */
  streams: Type.Record(Type.String(), StreamRecoverySchema),
  /** The `id` of the subscribe message this answers, when it had one. */
  request_id: Type.Optional(Type.String())
})
export type RecoveryResult = Static<typeof RecoveryResultSchema>

const IsoTime = Type.String({ description: 'ISO 8601 date-time' })

export const ConnectionEstablishedSchema = Type.Object({
  connection_id: Type.String({ description: 'This connection\'s id (app.realtime.sendToConnection)' }),
  user_id: Type.String({ description: 'The user the token (and authenticate) said this is' }),
  server_time: IsoTime,
  features: Type.Array(Type.String(), { description: 'heartbeat, subscriptions, rate_limiting; channels and presence when on' }),
  heartbeat_interval_ms: Type.Integer({ description: 'How often the server expects a sign of life' }),
  connection_timeout_ms: Type.Integer({ description: 'Silence after which the server closes with 4000' }),
  inbox: Type.Optional(Type.Object(StreamPositionSchema.properties, { description: 'With the `inbox` option: the inbox\'s position when the connection opened (before any inbox message it receives)' }))
})
export type ConnectionEstablished = Static<typeof ConnectionEstablishedSchema>

export const PongSchema = Type.Object({
  timestamp: IsoTime,
  pingId: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Null()], { description: 'The ping\'s pingId, echoed' }))
})
export type Pong = Static<typeof PongSchema>

export const HeartbeatAckSchema = Type.Object({ timestamp: IsoTime })
export type HeartbeatAck = Static<typeof HeartbeatAckSchema>

export const SubscriptionConfirmedSchema = Type.Object({
  events: Type.Array(Type.String(), { description: 'The events this request subscribed to (or unsubscribed from)' }),
  channels: Type.Array(Type.String(), { description: 'The channels this request subscribed to (or unsubscribed from)' }),
  subscriptions: Type.Array(Type.String(), { description: 'Every event this connection is subscribed to now' }),
  channel_subscriptions: Type.Array(Type.String(), { description: 'Every channel this connection is in now (subscribed or joined by the server)' }),
  request_id: Type.Optional(Type.String({ description: 'The `id` of the subscribe/unsubscribe message this answers, when it had one' })),
  positions: Type.Optional(Type.Record(Type.String(), StreamPositionSchema, { description: 'On subscription.confirmed, for each channel of the request whose namespace keeps history: its position when subscribed; every later message of the channel reaches the connection, none before it (except the replay a `recover` asked for, which follows)' }))
})
export type SubscriptionConfirmed = Static<typeof SubscriptionConfirmedSchema>
export const UnsubscriptionConfirmedSchema = SubscriptionConfirmedSchema
export type UnsubscriptionConfirmed = SubscriptionConfirmed

/** The server put this connection in a channel (`app.realtime.join`). */
export const SubscriptionJoinedSchema = Type.Object({
  channel: Type.String({ description: 'The channel joined (`namespace:id`)' })
})
export type SubscriptionJoined = Static<typeof SubscriptionJoinedSchema>

/** The server took this connection out of a channel (`app.realtime.leave`); `reason` is the host's, 'revoked' for a revocation. */
export const SubscriptionEndedSchema = Type.Object({
  channel: Type.String({ description: 'The channel left (`namespace:id`)' }),
  reason: Type.String({ description: 'The host\'s reason: `left` by default, `revoked` for a revocation' })
})
export type SubscriptionEnded = Static<typeof SubscriptionEndedSchema>

export const ErrorDataSchema = Type.Object({
  code: Type.String({ description: 'A wire error code (or a host handler\'s own)' }),
  message: Type.String({ description: 'Human-readable, at most 256 bytes as JSON' }),
  retry_after: Type.Optional(Type.Integer({ minimum: 1, description: 'Whole seconds to wait, on RATE_LIMIT_EXCEEDED' })),
  request_id: Type.Optional(Type.String({ description: 'The client\'s message id this error answers, when it had one' })),
  details: Type.Optional(Type.Array(Type.String(), { description: 'Offending values, e.g. the events or channels that cannot be subscribed to (each cut to 200 characters)' })),
  reasons: Type.Optional(Type.Array(Type.String(), { description: 'On CHANNEL_FORBIDDEN: why each channel of `details` was refused, in the same order (`forbidden`, `timeout`, `error` or the host\'s reason)' }))
})
export type ErrorData = Static<typeof ErrorDataSchema>

export const UploadProgressSchema = Type.Object({
  upload_id: Type.String(),
  progress: Type.Number({ minimum: 0, maximum: 100 }),
  bytes_uploaded: Type.Number(),
  total_bytes: Type.Number(),
  timestamp: IsoTime
})
export type UploadProgress = Static<typeof UploadProgressSchema>

export const UploadCompletedSchema = Type.Object({
  upload_id: Type.String(),
  total_bytes: Type.Optional(Type.Number()),
  timestamp: IsoTime
}, { additionalProperties: true })
export type UploadCompleted = Static<typeof UploadCompletedSchema>

export const UploadErrorSchema = Type.Object({
  upload_id: Type.String(),
  error: Type.String(),
  timestamp: IsoTime
}, { additionalProperties: true })
export type UploadError = Static<typeof UploadErrorSchema>

export const UploadCancelledSchema = Type.Object({
  upload_id: Type.String(),
  reason: Type.Optional(Type.String()),
  timestamp: IsoTime
}, { additionalProperties: true })
export type UploadCancelled = Static<typeof UploadCancelledSchema>

export const ReviewUpdatedSchema = Type.Object({
  review_id: Type.String(),
  changes: Type.Record(Type.String(), Type.Unknown()),
  timestamp: IsoTime
})
export type ReviewUpdated = Static<typeof ReviewUpdatedSchema>

export const ReviewCreatedSchema = Type.Object({
  review_id: Type.String(),
  timestamp: IsoTime
}, { additionalProperties: true })
export type ReviewCreated = Static<typeof ReviewCreatedSchema>

export const ReviewDeletedSchema = ReviewCreatedSchema
export type ReviewDeleted = ReviewCreated

export const NotificationLevelSchema = Type.Union([
  Type.Literal('info'), Type.Literal('warning'), Type.Literal('error'), Type.Literal('success')
])
export type NotificationLevel = Static<typeof NotificationLevelSchema>

export const SystemNotificationSchema = Type.Object({
  message: Type.String(),
  level: NotificationLevelSchema,
  timestamp: IsoTime
}, { additionalProperties: true })
export type SystemNotification = Static<typeof SystemNotificationSchema>

export const SystemMaintenanceSchema = Type.Object({
  message: Type.String(),
  timestamp: IsoTime
}, { additionalProperties: true })
export type SystemMaintenance = Static<typeof SystemMaintenanceSchema>

export const UserStatusChangedSchema = Type.Object({
  user_id: Type.String(),
  status: Type.String(),
  timestamp: IsoTime
}, { additionalProperties: true })
export type UserStatusChanged = Static<typeof UserStatusChangedSchema>

export const FileStatusSchema = Type.Object({
  file_id: Type.String(),
  status: Type.String(),
  progress: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  timestamp: IsoTime
}, { additionalProperties: true })
export type FileStatus = Static<typeof FileStatusSchema>

/** Schemas of the data of every event clients can subscribe to by default. */
export const EventSchemas = {
  'upload.progress': UploadProgressSchema,
  'upload.completed': UploadCompletedSchema,
  'upload.error': UploadErrorSchema,
  'upload.cancelled': UploadCancelledSchema,
  'review.updated': ReviewUpdatedSchema,
  'review.created': ReviewCreatedSchema,
  'review.deleted': ReviewDeletedSchema,
  'system.notification': SystemNotificationSchema,
  'system.maintenance': SystemMaintenanceSchema,
  'user.status_changed': UserStatusChangedSchema,
  'file.processing': FileStatusSchema,
  'file.ready': FileStatusSchema
} as const

/** The twelve subscription events of the protocol, the default of the `events` option. */
export const DEFAULT_EVENTS = Object.freeze(Object.keys(EventSchemas)) as readonly (keyof typeof EventSchemas)[]

/** Schemas of the data of the server's protocol replies. */
export const ReplySchemas = {
  'connection.established': ConnectionEstablishedSchema,
  pong: PongSchema,
  'heartbeat.ack': HeartbeatAckSchema,
  'subscription.confirmed': SubscriptionConfirmedSchema,
  'unsubscription.confirmed': UnsubscriptionConfirmedSchema,
  'subscription.joined': SubscriptionJoinedSchema,
  'subscription.ended': SubscriptionEndedSchema,
  'recovery.result': RecoveryResultSchema,
  error: ErrorDataSchema
} as const

/**
 * Every server message type with the schema of its data: the one list the
 * protocol reference is built from (`app.realtime.asyncapi()`, then
 * docs/protocol.md by `npm run docs:protocol`). A new server message is one
 * line in ReplySchemas (an answer or a protocol notice) or EventSchemas (a
 * subscription event); a map of its own is one more line here.
 */
export const SERVER_MESSAGE_SCHEMAS = { ...ReplySchemas, ...EventSchemas } as const

/**
 * Data type of each server message type. Host apps add their own events by
 * declaration merging:
 *
 * ```ts
 * declare module 'fastify-realtime' {
 *   interface RealtimeEvents { 'order.shipped': { order_id: string } }
 * }
 * ```
 */
export interface RealtimeEvents {
  'connection.established': ConnectionEstablished
  pong: Pong
  'heartbeat.ack': HeartbeatAck
  'subscription.confirmed': SubscriptionConfirmed
  'unsubscription.confirmed': UnsubscriptionConfirmed
  'subscription.joined': SubscriptionJoined
  'subscription.ended': SubscriptionEnded
  'recovery.result': RecoveryResult
  error: ErrorData
  'upload.progress': UploadProgress
  'upload.completed': UploadCompleted
  'upload.error': UploadError
  'upload.cancelled': UploadCancelled
  'review.updated': ReviewUpdated
  'review.created': ReviewCreated
  'review.deleted': ReviewDeleted
  'system.notification': SystemNotification
  'system.maintenance': SystemMaintenance
  'user.status_changed': UserStatusChanged
  'file.processing': FileStatus
  'file.ready': FileStatus
  'presence.state': PresenceState
  'presence.joined': PresenceJoined
  'presence.left': PresenceLeft
}

export type RealtimeEventName = keyof RealtimeEvents & string
/** A message as the caller of a delivery method hands it in: the server adds timestamp and id. */
export type OutboundMessage<K extends string = string> =
  K extends keyof RealtimeEvents ? { type: K, data: RealtimeEvents[K] } : { type: K, data: unknown }
/** What a client receives for an event type. */
export type ServerMessage<K extends RealtimeEventName = RealtimeEventName> = ServerEnvelope<K, RealtimeEvents[K]>
