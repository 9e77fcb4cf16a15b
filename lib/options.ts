import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyRequest } from 'fastify'
import type { FastifyJWTOptions } from '@fastify/jwt'
import { DEFAULT_EVENTS } from './protocol/server-messages.js'
import { InvalidOptionsError } from './errors.js'
import type { Adapter } from './adapters/adapter.js'
import type { MessageHandler } from './message-router.js'
import { resolvePresenceOptions, type PresenceOptions, type ResolvedPresenceOptions } from './presence/options.js'
import type { ChannelNamespaceOptions } from './channels/namespace.js'
import { checkChannels } from './channels/check-options.js'
import { acceptDeprecatedOptions } from './deprecated-options.js'
import { isRealtimeClock, systemClock, type RealtimeClock } from './clock.js'
import { HistoryOptionsSchema, type HistoryOptions } from './history/options.js'

/**
 * The smallest maxMessageSize: every frame the plugin sends by itself fits
 * it. The largest error frame (a 128-character request id of control
 * characters is 768 bytes as JSON, the envelope about 110, code and
 * retry_after about 60) leaves room for a shortened text; the welcome
 * (about 360 bytes) leaves about 660 for the user id.
 */
export const MIN_MAX_MESSAGE_SIZE = 1024
import { checkMetricsOption, type MetricsOptions, type ResolvedMetricsOptions } from './observability/metrics.js'
import type { AuthenticateResult, RealtimeTokenPayload } from './host-types.js'

/** The data options: one schema, every default declared here. */
export const RealtimeDataOptionsSchema = Type.Object({
  path: Type.String({ default: '/ws', pattern: '^/[^:*]*$', description: 'route of the WebSocket endpoint; the token variant is `${path}/:token`' }),
  maxConnectionsPerUser: Type.Integer({ minimum: 1, default: 3 }),
  maxConnections: Type.Integer({ minimum: 1, default: 1000 }),
  rateLimit: Type.Object({
    max: Type.Integer({ minimum: 1, default: 100, description: 'messages per window per user' }),
    windowMs: Type.Integer({ minimum: 1, default: 60000 }),
    floodFactor: Type.Integer({ minimum: 0, default: 10, description: 'close (4009) a connection refused more than max x floodFactor times within one window; 0 never closes' })
  }, { default: {}, additionalProperties: false }),
  heartbeatIntervalMs: Type.Integer({ minimum: 10, default: 30000 }),
  connectionTimeoutMs: Type.Integer({ minimum: 20, default: 60000 }),
  maxMessageSize: Type.Integer({ minimum: MIN_MAX_MESSAGE_SIZE, maximum: 104857600, default: 65536, description: 'bytes, inbound and outbound' }),
  events: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { uniqueItems: true, default: [...DEFAULT_EVENTS] }),
  maxBufferedBytes: Type.Integer({ minimum: 1024, default: 4194304, description: 'per socket; past it, slowConsumer decides' }),
  slowConsumer: Type.Union([Type.Literal('close'), Type.Literal('drop')], { default: 'close' }),
  compression: Type.Boolean({ default: false, description: 'permessage-deflate' }),
  handshakeTimeoutMs: Type.Integer({ minimum: 1, default: 10000, description: 'bound on the checks before the upgrade (authenticate hook, cluster slot)' }),
  closeOnTokenExpiry: Type.Boolean({ default: true }),
  clockToleranceMs: Type.Integer({ minimum: 0, maximum: 300000, default: 0, description: 'leeway for exp/nbf, at the handshake and for closing on expiry' }),
  maxEventLoopDelayMs: Type.Integer({ minimum: 0, default: 0, description: '0 = never shed connections for loop delay' }),
  failedHandshakeLimit: Type.Union([
    Type.Literal(false),
    Type.Object({
      max: Type.Integer({ minimum: 1, default: 100, description: 'failed handshakes per client address per window, plus one per successful handshake' }),
      windowMs: Type.Integer({ minimum: 1, default: 60000 })
    }, { additionalProperties: false })
  ], { default: { max: 100, windowMs: 60000 } }),
  authorizeTimeoutMs: Type.Integer({ minimum: 1, default: 5000, description: 'a channel authorize not answered in time refuses with reason timeout' }),
  maxSubscriptionsPerConnection: Type.Integer({ minimum: 1, default: 100, description: 'events + channels one connection may hold; a subscribe past it is refused' }),
  /** Each user's inbox stream: everything addressed to the user, kept for recovery after a reconnect; off when left out. */
  inbox: Type.Optional(HistoryOptionsSchema),
  maxRecoveredMessages: Type.Integer({ minimum: 1, maximum: 100000, default: 300, description: 'most messages one stream replays to a reconnecting client; more missed is too_many' }),
  handshakeRateLimit: Type.Union([
    Type.Literal(false),
    Type.Object({
      max: Type.Integer({ minimum: 1, default: 60 }),
      windowMs: Type.Integer({ minimum: 1, default: 60000 })
    }, { additionalProperties: false })
  ], { default: false, description: 'every upgrade attempt per client address, through @fastify/rate-limit; off by default' }),
  asyncapi: Type.Object({
    title: Type.String({ minLength: 1, default: 'fastify-realtime' }),
    version: Type.String({ minLength: 1, default: '1.0.0', description: 'the version of your realtime API' }),
    description: Type.Optional(Type.String())
  }, { default: {}, additionalProperties: false, description: 'the info of the AsyncAPI document app.realtime.asyncapi() returns' })
}, { additionalProperties: true })
export type RealtimeDataOptions = Static<typeof RealtimeDataOptionsSchema>

export type { AuthenticateResult }
/** `payload` is the verified token, its `sub` already the user id (see RealtimeTypes to type the rest). */
export type AuthenticateHook = (payload: RealtimeTokenPayload, request: FastifyRequest) => AuthenticateResult | Promise<AuthenticateResult>

export type OriginCheck = (origin: string | undefined, request: FastifyRequest) => boolean

/**
 * A TypeBox schema, from either of TypeBox's builds. An ES module host's
 * `Type.Object()` comes from TypeBox's ESM types, whose `Kind` symbol is
 * another declaration than the CommonJS `TSchema` these types import: matched
 * by shape, so `defineMessage` takes both (at run time they are the same).
 */
export interface MessageSchema {
  static: unknown
  params: unknown[]
}
/** What data a schema describes: TypeBox's `Static<T>`, for a schema of either build. */
export type MessageData<T extends MessageSchema> = (T & { params: [] })['static']

export interface MessageTypeDefinition<T extends MessageSchema = TSchema> {
  schema: T
  handler: MessageHandler<MessageData<T>>
}

/** An entry of `messages`: what defineMessage returns, or `{ schema, handler }` (its data then `unknown`). */
export interface MessageEntry {
  schema: MessageSchema
  handler: MessageHandler<unknown>
}

/** Types a host message's handler from its schema: `messages: { 'x': defineMessage({ schema, handler }) }`. */
export function defineMessage<T extends MessageSchema> (definition: MessageTypeDefinition<T>): MessageTypeDefinition {
  return definition as unknown as MessageTypeDefinition
}

/** `failedHandshakeLimit` and `handshakeRateLimit`: at most `max` per client address per `windowMs`. */
export interface HandshakeLimitOptions {
  max?: number
  windowMs?: number
  /** @deprecated The 0.1.0 name of `windowMs`: still accepted, with a DeprecationWarning (FST_REALTIME_DEPRECATED_TIME_WINDOW_MS). */
  timeWindowMs?: number
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : Partial<T[K]>) : T[K] }

export interface RealtimeOptions extends DeepPartial<Omit<RealtimeDataOptions, 'events' | 'handshakeRateLimit' | 'failedHandshakeLimit' | 'inbox'>> {
  /**
   * Each user's inbox: every message addressed to the user (sendToUser,
   * sendToUsers, the targeted seed helpers, broadcastFileProcessingStatus)
   * is numbered and kept, so a client that reconnects with
   * `?inbox=<epoch>:<offset>` gets what it missed. Off when left out.
   */
  inbox?: Partial<HistoryOptions>
  /**
   * The handshake flood bound: failed handshakes (bad token, refused origin)
   * per client address per window, plus one for each handshake the address
   * completed; past it, 429 before any token work. false turns it off.
   */
  failedHandshakeLimit?: false | HandshakeLimitOptions
  /**
   * Every upgrade attempt per client address, successful or not (through
   * @fastify/rate-limit). Off by default: it refuses crowds behind one proxy or NAT.
   */
  handshakeRateLimit?: false | HandshakeLimitOptions
  /** Subscription events clients may subscribe to (the seed's twelve by default). */
  events?: readonly string[]
  /**
   * Options for @fastify/jwt when the plugin registers it (a string is the
   * HS256 secret). Ignored when the host registered @fastify/jwt itself.
   */
  jwt?: string | FastifyJWTOptions
  /** Load the user, refuse inactive ones (return false), or map the payload to a user id. */
  authenticate?: AuthenticateHook
  /** Host-defined client message types, each validated by its schema before its handler runs. */
  messages?: Record<string, MessageEntry>
  /** Cross-node transport; the in-memory adapter (single process) by default. */
  adapter?: Adapter
  /**
   * Origins allowed to open a connection (Cross-Site WebSocket Hijacking
   * protection). Default '*' (any origin, suits token auth that a browser
   * never sends by itself); set a list in production when browsers connect.
   */
  allowedOrigins?: '*' | readonly string[] | OriginCheck
  /** User presence (`user.status_changed`, `app.realtime.isOnline`...): off unless given; `true` takes the defaults. */
  presence?: boolean | PresenceOptions
  /**
   * Channel namespaces by name (`review` for `review:42`): clients may
   * subscribe only to channels of a declared namespace, each admitted by
   * its `authorize`.
   */
  channels?: Record<string, ChannelNamespaceOptions>
  /** Prometheus metrics on prom-client (an optional peer dependency): true, or { registry, prefix }. Off by default. */
  metrics?: boolean | MetricsOptions
  /**
   * The server's time: heartbeats, rate limits, token expiry, the handshake
   * deadline and presence grace periods. The real clock by default; tests
   * pass `manualClock()` from fastify-realtime/testing and move it forward.
   */
  clock?: RealtimeClock
}

export interface ResolvedOptions extends Readonly<Omit<RealtimeDataOptions, 'events'>> {
  readonly events: ReadonlySet<string>
  readonly jwt: FastifyJWTOptions | undefined
  readonly authenticate: AuthenticateHook | undefined
  readonly messages: ReadonlyMap<string, MessageTypeDefinition>
  readonly adapter: Adapter | undefined
  readonly allowedOrigins: OriginCheck | undefined
  /** Undefined when user presence is off. */
  readonly presence: ResolvedPresenceOptions | undefined
  /** Declared namespaces; a Map so that no name reaches Object.prototype. */
  readonly channels: ReadonlyMap<string, ChannelNamespaceOptions>
  readonly metrics: ResolvedMetricsOptions | undefined
  readonly clock: RealtimeClock
}

const FUNCTION_KEYS = new Set(['jwt', 'authenticate', 'messages', 'adapter', 'allowedOrigins', 'presence', 'channels', 'metrics', 'clock'])
const RESERVED_TYPES = new Set(['ping', 'heartbeat', 'subscribe', 'unsubscribe', 'presence'])

/** Validates and freezes the options; throws one error naming every bad option. */
export function resolveOptions (input: RealtimeOptions | undefined): ResolvedOptions {
  const raw: Record<string, unknown> = { ...(input ?? {}) }
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!FUNCTION_KEYS.has(key) && value !== undefined) data[key] = structuredCloneData(value)
  }
  // fastify passes its own register options (prefix, logLevel...) along: they are not ours to judge
  for (const key of ['prefix', 'logLevel', 'logSerializers']) delete data[key]
  const problems: string[] = []
  acceptDeprecatedOptions(data, problems)

  Value.Default(RealtimeDataOptionsSchema, data)
  for (const error of Value.Errors(RealtimeDataOptionsSchema, data)) {
    /* c8 ignore next */ // data is always an object whose keys are checked one by one: an error's path is never the root
    problems.push(`${error.path.slice(1).replaceAll('/', '.') || '(root)'} ${error.message}`)
  }
  const unknown = Object.keys(data).filter(key => !(key in RealtimeDataOptionsSchema.properties))
  for (const key of unknown) problems.push(`${key} is not an option`)
  if (problems.length === 0) {
    const d = data as RealtimeDataOptions
    if (d.connectionTimeoutMs <= d.heartbeatIntervalMs) {
      problems.push(`connectionTimeoutMs (${d.connectionTimeoutMs}) must be greater than heartbeatIntervalMs (${d.heartbeatIntervalMs})`)
    }
  }

  const jwt = checkJwt(raw.jwt, problems)
  const authenticate = checkFunction<AuthenticateHook>('authenticate', raw.authenticate, problems)
  const messages = checkMessages(raw.messages, problems)
  const adapter = checkAdapter(raw.adapter, problems)
  const allowedOrigins = checkOrigins(raw.allowedOrigins, problems)
  const presence = resolvePresenceOptions(raw.presence, problems)
  if (presence !== undefined && problems.length === 0 && !(data as RealtimeDataOptions).events.includes('user.status_changed')) {
    problems.push('presence announces user.status_changed: keep it in events')
  }
  const channels = checkChannels(raw.channels, problems)
  const metrics = checkMetricsOption(raw.metrics, problems)
  const clock = checkClock(raw.clock, problems)

  if (problems.length > 0) throw new InvalidOptionsError(problems.join('; '))
  const d = data as RealtimeDataOptions
  return Object.freeze({
    ...d,
    rateLimit: Object.freeze({ ...d.rateLimit }),
    events: new Set(d.events),
    jwt,
    authenticate,
    messages,
    adapter,
    allowedOrigins,
    presence,
    channels,
    metrics,
    clock
  })
}

function structuredCloneData (value: unknown): unknown {
  return Array.isArray(value) ? [...value] : (value !== null && typeof value === 'object' ? { ...value } : value)
}

function checkFunction<T> (name: string, value: unknown, problems: string[]): T | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') problems.push(`${name} must be a function`)
  return value as T
}

function checkClock (value: unknown, problems: string[]): RealtimeClock {
  if (value === undefined) return systemClock
  if (!isRealtimeClock(value)) problems.push('clock must implement RealtimeClock (now, setTimeout, clearTimeout, setInterval, clearInterval)')
  return value as RealtimeClock
}

function checkJwt (value: unknown, problems: string[]): FastifyJWTOptions | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') {
    if (value.length === 0) problems.push('jwt must not be an empty secret')
    return { secret: value }
  }
  if (value === null || typeof value !== 'object' || !('secret' in value)) {
    problems.push('jwt must be a secret string or @fastify/jwt options with a secret')
    return undefined
  }
  return value as FastifyJWTOptions
}

function checkMessages (value: unknown, problems: string[]): Map<string, MessageTypeDefinition> {
  const messages = new Map<string, MessageTypeDefinition>()
  if (value === undefined) return messages
  if (value === null || typeof value !== 'object') {
    problems.push('messages must be an object of { schema, handler } by message type')
    return messages
  }
  for (const [type, definition] of Object.entries(value)) {
    if (RESERVED_TYPES.has(type)) {
      problems.push(`messages.${type} is a protocol message type and cannot be redefined`)
      continue
    }
    const def = definition as Partial<MessageTypeDefinition> | null
    if (def === null || typeof def !== 'object' || typeof def.handler !== 'function' || def.schema === null || typeof def.schema !== 'object') {
      problems.push(`messages.${type} must be { schema: TypeBox schema, handler: function }`)
      continue
    }
    messages.set(type, def as MessageTypeDefinition)
  }
  return messages
}

function checkAdapter (value: unknown, problems: string[]): Adapter | undefined {
  if (value === undefined) return undefined
  const candidate = value as Partial<Adapter> | null
  if (candidate === null || typeof candidate !== 'object' ||
      typeof candidate.start !== 'function' || typeof candidate.publish !== 'function' || typeof candidate.close !== 'function') {
    problems.push('adapter must implement the Adapter interface (start, publish, close)')
    return undefined
  }
  return candidate as Adapter
}

function checkOrigins (value: unknown, problems: string[]): OriginCheck | undefined {
  if (value === undefined || value === '*') return undefined
  if (typeof value === 'function') return value as OriginCheck
  if (Array.isArray(value) && value.every(origin => typeof origin === 'string')) {
    const allowed = new Set(value as string[])
    // Browsers always send Origin; a client without one is not a browser and cannot be hijacked this way
    return (origin) => origin === undefined || allowed.has(origin)
  }
  problems.push("allowedOrigins must be '*', a list of origins or a function (origin, request) => boolean")
  return undefined
}
