import { fastifyRealtime } from './plugin.js'

export { fastifyRealtime }
export default fastifyRealtime
export * from './protocol/index.js'
export * from './errors.js'
export { RealtimeDataOptionsSchema, resolveOptions, defineMessage } from './options.js'
export type { RealtimeOptions, RealtimeDataOptions, AuthenticateHook, AuthenticateResult, MessageTypeDefinition, OriginCheck } from './options.js'
export type { RealtimeApi, NotificationOptions, ClusterView, UserDeliveryOptions, ChannelMember } from './api.js'
export type { ChannelNamespaceOptions, ChannelAuthorize, ChannelAuthorizeContext, ChannelAuthorizeResult } from './channels/namespace.js'
export { CHANNEL_ID_PATTERN, NAMESPACE_PATTERN, MAX_CHANNEL_LENGTH } from './channels/names.js'
export type { RealtimeStats } from './stats.js'
export type { ConnectionInfo } from './connection.js'
export type { MessageContext, MessageHandler } from './router.js'
export type { Adapter, AdapterContext, ClusterMessage, ClusterStats, DeliveryTarget, EventTarget, UsersTarget, MembershipTarget } from './adapters/adapter.js'
export { MemoryAdapter, memoryAdapter } from './adapters/memory.js'
export { RedisAdapter, redisAdapter, RedisAdapterDataOptionsSchema } from './adapters/redis.js'
export type { RedisAdapterOptions, RedisAdapterDataOptions, RedisAdapterStatus, RedisClientLike } from './adapters/redis.js'
export { SlidingWindowRateLimiter } from './rate-limiter.js'
export { SUBPROTOCOL } from './handshake.js'
export type {
  AsyncApiDocument, AsyncApiInfo, AsyncApiServer, AsyncApiServerVariable, AsyncApiChannel, AsyncApiOperation, AsyncApiMessage,
  AsyncApiParameter, AsyncApiReference, AsyncApiSecurityScheme, AsyncApiCorrelationId, CloseCodeEntry, WireErrorEntry,
  ProtocolLimits, JsonSchema, MessageOrigin, MessageDirection, TokenLocation
} from './asyncapi/types.js'
