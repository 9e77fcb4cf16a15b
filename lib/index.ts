import { fastifyRealtime } from './plugin.js'

export { fastifyRealtime }
export default fastifyRealtime
export * from './protocol/index.js'
export * from './errors.js'
export { RealtimeDataOptionsSchema, resolveOptions, defineMessage } from './options.js'
export type { RealtimeTypes, RealtimeTokenPayload, RealtimeUser } from './host-types.js'
export type { RealtimeOptions, RealtimeDataOptions, AuthenticateHook, AuthenticateResult, MessageTypeDefinition, MessageSchema, MessageData, MessageEntry, OriginCheck, HandshakeLimitOptions } from './options.js'
export type { RealtimeApi, NotificationOptions, ClusterView, UserDeliveryOptions, ChannelMember } from './api.js'
export type { ChannelNamespaceOptions, ChannelAuthorize, ChannelAuthorizeContext, ChannelAuthorizeResult } from './channels/namespace.js'
export { CHANNEL_ID_PATTERN, NAMESPACE_PATTERN, MAX_CHANNEL_LENGTH } from './channels/names.js'
export type { RealtimeStats } from './stats.js'
export type { ConnectionInfo } from './connection.js'
export type { MessageContext, MessageHandler } from './router.js'
export type { Adapter, AdapterContext, AdapterHealth, ClusterMessage, ClusterStats, DeliveryTarget, EventTarget, UsersTarget, MembershipTarget } from './adapters/adapter.js'
export type { MetricsOptions, MetricsRegistry } from './observability/metrics.js'
export type { RealtimeHealth, HealthStatus } from './observability/health.js'
export type { HandshakeTraceContext, MessageTraceContext, DeliveryTraceContext } from './observability/tracing.js'
export { CHANNEL_NAMES as TRACING_CHANNELS } from './observability/tracing.js'
export { MemoryAdapter, memoryAdapter } from './adapters/memory.js'
export { RedisAdapter, redisAdapter, RedisAdapterDataOptionsSchema } from './adapters/redis.js'
export type { RedisAdapterOptions, RedisAdapterDataOptions, RedisAdapterStatus, RedisClientLike } from './adapters/redis.js'
export { SUBPROTOCOL } from './handshake.js'
export { PresenceDataOptionsSchema } from './presence/options.js'
export type { PresenceOptions, PresenceDataOptions, PresenceAudience, PresenceAudienceHook } from './presence/options.js'
export type { PresenceApi } from './presence/presence-api.js'
export type { ChannelPresence } from './presence/channel-presence.js'
export type { ChannelPresenceMode } from './channels/namespace.js'
export type { UserStatusChange } from './presence/user-status.js'
export type { PresenceBackend, PresenceBackendContext, PresenceChange, PresenceMember, PresenceStatus } from './presence/backend.js'
export { MemoryPresence } from './presence/memory-presence.js'
export type {
  AsyncApiDocument, AsyncApiInfo, AsyncApiServer, AsyncApiServerVariable, AsyncApiChannel, AsyncApiOperation, AsyncApiMessage,
  AsyncApiParameter, AsyncApiReference, AsyncApiSecurityScheme, AsyncApiCorrelationId, CloseCodeEntry, WireErrorEntry,
  ProtocolLimits, JsonSchema, MessageOrigin, MessageDirection, TokenLocation
} from './asyncapi/types.js'
