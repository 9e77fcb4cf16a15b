import { fastifyRealtime } from './plugin.js'

export { fastifyRealtime }
export default fastifyRealtime
export * from './protocol/index.js'
export * from './errors.js'
export { RealtimeDataOptionsSchema, resolveOptions, defineMessage } from './options.js'
export type { RealtimeTypes, RealtimeTokenPayload, RealtimeUser } from './host-types.js'
export type { RealtimeOptions, RealtimeDataOptions, AuthenticateHook, AuthenticateResult, MessageTypeDefinition, MessageSchema, MessageData, MessageEntry, OriginCheck } from './options.js'
export type { RealtimeApi, NotificationOptions, ClusterView, UserDeliveryOptions } from './api.js'
export type { RealtimeStats } from './stats.js'
export type { ConnectionInfo } from './connection.js'
export type { MessageContext, MessageHandler } from './router.js'
export type { Adapter, AdapterContext, ClusterMessage, ClusterStats, DeliveryTarget } from './adapters/adapter.js'
export { MemoryAdapter, memoryAdapter } from './adapters/memory.js'
export { RedisAdapter, redisAdapter, RedisAdapterDataOptionsSchema } from './adapters/redis.js'
export type { RedisAdapterOptions, RedisAdapterDataOptions, RedisAdapterStatus, RedisClientLike } from './adapters/redis.js'
export { SlidingWindowRateLimiter } from './rate-limiter.js'
export { SUBPROTOCOL } from './handshake.js'
