import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { InvalidOptionsError } from '../errors.js'

/** The data options of redisAdapter(): one schema, every default declared here. */
export const RedisAdapterDataOptionsSchema = Type.Object({
  url: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379', description: 'redis:// or rediss:// URL; ignored when client is given' }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 128, default: 'fastify-realtime', description: 'namespace of the keys and of the pub/sub channel: one per logical cluster' }),
  leaseMs: Type.Integer({ minimum: 100, default: 15000, description: 'a node\'s connections stop counting this long after its last heartbeat' }),
  heartbeatMs: Type.Optional(Type.Integer({ minimum: 10, description: 'how often a node refreshes its lease; leaseMs / 3 by default' })),
  handshakeGraceMs: Type.Integer({ minimum: 100, default: 10000, description: 'a slot claimed by a handshake that never became a connection is freed after this' }),
  commandTimeoutMs: Type.Integer({ minimum: 10, default: 2000, description: 'a Redis command not answered in time rejects' }),
  presenceSweepMs: Type.Integer({ minimum: 10, default: 1000, description: 'with presence on: how often a node reaps dead nodes\' users and ends graces that no timer of its own ended' }),
  publishBatching: Type.Boolean({
    default: true,
    description: 'coalesce what this node publishes to one Redis channel in one event-loop turn into one Redis message (nodes before this version cannot read them: turn it off while such nodes share the prefix); false: one PUBLISH per message'
  }),
  channelRouting: Type.Union([Type.Literal('per-channel'), Type.Literal('shared')], {
    default: 'per-channel',
    description: "'per-channel': a node SUBSCRIBEs to a channel's Redis channel while it has connections in it, and receives only those channels' messages; 'shared': every channel message goes to every node over the one cluster channel"
  })
}, { additionalProperties: false })
export type RedisAdapterDataOptions = Static<typeof RedisAdapterDataOptionsSchema>

/**
 * The part of an ioredis client the adapter uses: it only duplicates it, so
 * the host's own client is never put in subscriber mode and never quit.
 */
export interface RedisClientLike {
  duplicate (override?: Record<string, unknown>): unknown
}

export interface RedisAdapterOptions extends Partial<RedisAdapterDataOptions> {
  /** An ioredis client of the host: the adapter opens its two connections with `client.duplicate()`. */
  client?: RedisClientLike
}

/** The host's client, when given: something to duplicate, and not beside a url. */
export function checkClient (client: RedisClientLike | undefined, url: string | undefined): void {
  if (client !== undefined && (client === null || typeof (client as { duplicate?: unknown }).duplicate !== 'function')) {
    throw new InvalidOptionsError('redisAdapter: client must be an ioredis client (with duplicate())')
  }
  if (client !== undefined && url !== undefined) {
    throw new InvalidOptionsError('redisAdapter: give url or client, not both')
  }
}

export type ResolvedRedisOptions = RedisAdapterDataOptions & { heartbeatMs: number }

export function resolveRedisOptions (input: Partial<RedisAdapterDataOptions>): ResolvedRedisOptions {
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) if (value !== undefined) data[key] = value
  Value.Default(RedisAdapterDataOptionsSchema, data)
  const problems: string[] = []
  for (const error of Value.Errors(RedisAdapterDataOptionsSchema, data)) {
    problems.push(`${error.path.slice(1)} ${error.message}`)
  }
  if (problems.length > 0) throw new InvalidOptionsError(`redisAdapter: ${problems.join('; ')}`)
  const resolved = data as RedisAdapterDataOptions
  const heartbeatMs = resolved.heartbeatMs ?? Math.max(10, Math.floor(resolved.leaseMs / 3))
  if (heartbeatMs >= resolved.leaseMs) {
    throw new InvalidOptionsError(`redisAdapter: heartbeatMs (${heartbeatMs}) must be less than leaseMs (${resolved.leaseMs})`)
  }
  return Object.freeze({ ...resolved, heartbeatMs })
}
