import { randomUUID } from 'node:crypto'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { WebSocket, RawData } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import { Connection } from './connection.js'
import { Registry } from './registry.js'
import { SlidingWindowRateLimiter } from './rate-limiter.js'
import { MessageRouter } from './router.js'
import { Delivery } from './delivery.js'
import { Counters, type RealtimeStats } from './stats.js'
import { sweep, sweepTickMs, SweepTimer } from './heartbeat.js'
import { CloseCode, WireError } from './protocol/codes.js'
import { PingDataSchema, HeartbeatDataSchema, SubscribeDataSchema, UnsubscribeDataSchema } from './protocol/client-messages.js'
import { handlePing } from './handlers/ping.js'
import { handleHeartbeat } from './handlers/heartbeat.js'
import { handleSubscribe, handleUnsubscribe } from './handlers/subscribe.js'
import type { CoreContext } from './handlers/context.js'
import type { ResolvedOptions } from './options.js'
import type { Adapter, ClusterMessage, DeliveryTarget } from './adapters/adapter.js'
import type { RealtimeApi } from './api.js'
import type { ServerSocket } from './server-socket.js'
import type { RealtimeUser } from './host-types.js'

export const FEATURES = Object.freeze(['heartbeat', 'subscriptions', 'rate_limiting'])

/** How long a peer has to answer the server's close frame before its socket is destroyed. */
export const CLOSE_GRACE_MS = 2000

/** Who the handshake said the client is. */
export interface Identity {
  userId: string
  user: RealtimeUser
  /** Token expiry in ms since the epoch, or Infinity. */
  expiresAt: number
  /** Pre-allocated when a cluster adapter claimed a slot for this connection. */
  connectionId?: string
  /** Stops the handshake's watch for an abandoned upgrade (it holds the request). */
  stopWatching?: () => void
}

/**
 * The realtime server of one process, independent of Fastify's routing:
 * accepts authenticated sockets, routes their messages, delivers, sweeps.
 */
export class RealtimeNode {
  readonly nodeId = randomUUID()
  readonly registry = new Registry<Connection>()
  readonly counters = new Counters()
  readonly router = new MessageRouter()
  readonly delivery: Delivery
  readonly #options: ResolvedOptions
  readonly #log: FastifyBaseLogger
  readonly #limiter: SlidingWindowRateLimiter
  readonly #sweepTimer = new SweepTimer()
  readonly #loopDelay: IntervalHistogram
  readonly #startedAt = Date.now()
  #recentLoopDelay = { mean: 0, p99: 0, max: 0 }
  #api: RealtimeApi | undefined
  #isClosing = false
  /** Connections the server is closing, until their socket closes or the grace ends. */
  readonly #closing = new Set<Connection>()

  constructor (options: ResolvedOptions, adapter: Adapter, log: FastifyBaseLogger) {
    this.#options = options
    this.#log = log
    this.#limiter = new SlidingWindowRateLimiter(options.rateLimit)
    this.delivery = new Delivery(this.registry, {
      maxMessageSize: options.maxMessageSize,
      maxBufferedBytes: options.maxBufferedBytes,
      closeSlowConsumer: options.slowConsumer === 'close',
      framesOnce: !options.compression
    }, adapter, this.counters)
    this.delivery.onClosed = (connection) => this.#forget(connection)
    this.router.add('ping', PingDataSchema, (data, ctx) => handlePing(data, ctx as CoreContext))
    this.router.add('heartbeat', HeartbeatDataSchema, (data, ctx) => handleHeartbeat(data, ctx as CoreContext))
    this.router.add('subscribe', SubscribeDataSchema, (data, ctx) => handleSubscribe(data, ctx as CoreContext))
    this.router.add('unsubscribe', UnsubscribeDataSchema, (data, ctx) => handleUnsubscribe(data, ctx as CoreContext))
    for (const [type, definition] of options.messages) this.router.add(type, definition.schema, definition.handler)
    this.#loopDelay = monitorEventLoopDelay({ resolution: 20 })
  }

  set api (api: RealtimeApi) {
    this.#api = api
  }

  start (): void {
    this.#loopDelay.enable()
    const tick = sweepTickMs(this.#options.heartbeatIntervalMs)
    this.#sweepTimer.start(tick, () => this.sweep(Date.now()))
  }

  get isClosing (): boolean {
    return this.#isClosing
  }

  /** Mean event loop delay in ms over the last sweep tick, for load shedding. */
  eventLoopDelayMs (): number {
    return this.#recentLoopDelay.mean
  }

  #sampleLoopDelay (): void {
    const delay = this.#loopDelay
    // the histogram counts its own sampling resolution as delay: take it off, like @fastify/under-pressure
    const ms = (ns: number): number => Number.isNaN(ns) ? 0 : Math.max(0, Math.round((ns / 1e6 - 20) * 100) / 100)
    this.#recentLoopDelay = { mean: ms(delay.mean), p99: ms(delay.percentile(99)), max: ms(delay.max) }
    delay.reset()
  }

  sweep (now: number): void {
    sweep(now, this.#options, {
      connections: () => this.registry.all(),
      onTimeout: (connection) => {
        this.counters.heartbeatTimeouts++
        connection.log.debug('closing connection: no sign of life')
        connection.close(CloseCode.heartbeatTimeout, 'connection timeout')
        this.#forget(connection)
      },
      onExpired: (connection) => {
        connection.log.debug('closing connection: token expired')
        connection.close(CloseCode.tokenExpired, 'token expired')
        this.#forget(connection)
      },
      afterSweep: (sweptAt) => {
        this.#cutOffUnanswered(sweptAt)
        this.#limiter.prune(sweptAt)
        this.#sampleLoopDelay()
      }
    })
  }

  readonly #listeners = createSocketListeners({
    message: (connection, data, isBinary) => this.#onMessage(connection, data, isBinary),
    pong: (connection) => { connection.lastSeenAt = Date.now() },
    close: (connection) => {
      connection.markClosed()
      this.#closing.delete(connection)
      this.#forget(connection)
    }
  })

  /** Registers an upgraded socket and starts its conversation. */
  accept (serverSocket: ServerSocket, identity: Identity): Connection {
    const socket = serverSocket as WebSocket // typed structurally in the signature: the published .d.ts must not need @types/ws
    const now = Date.now()
    // the node's logger, not the upgrade request's: a connection must not keep its request alive
    const connection = new Connection(socket, identity.connectionId ?? randomUUID(), identity.userId, identity.user, identity.expiresAt, this.#log, now)
    this.registry.add(connection)
    this.counters.connectionsOpened++

    // the same four listener functions for every socket: the socket names its connection
    ;(socket as SocketWithConnection)[kConnection] = connection
    socket.on('message', this.#listeners.message)
    socket.on('pong', this.#listeners.pong)
    socket.on('close', this.#listeners.close)
    socket.on('error', this.#listeners.error)

    this.#send(connection, this.delivery.encodeText('connection.established', {
      connection_id: connection.id,
      user_id: connection.userId,
      server_time: new Date(now).toISOString(),
      features: FEATURES,
      heartbeat_interval_ms: this.#options.heartbeatIntervalMs,
      connection_timeout_ms: this.#options.connectionTimeoutMs
    }))
    // the node's logger with bindings: a child logger per connection would be kept for its whole life
    this.#log.debug({ connectionId: connection.id, userId: connection.userId }, 'connection established')
    return connection
  }

  #forget (connection: Connection): void {
    // a peer that never answers our close frame (it stopped reading) is cut off by the sweep
    if (!connection.isOpen && connection.closingSince > 0) this.#closing.add(connection)
    if (this.registry.remove(connection)) this.onForget?.(connection)
  }

  /** Terminates connections that did not complete the closing handshake within the grace. */
  #cutOffUnanswered (now: number): void {
    for (const connection of this.#closing) {
      if (now - connection.closingSince >= CLOSE_GRACE_MS) {
        this.#closing.delete(connection)
        connection.terminate()
      }
    }
  }

  /** Called once per connection when it leaves the registry (adapters release cluster slots). */
  onForget: ((connection: Connection) => void) | undefined

  #onMessage (connection: Connection, data: RawData, isBinary: boolean): void {
    if (!connection.isOpen) return
    const now = Date.now()
    connection.lastSeenAt = now
    this.counters.messagesIn++
    if (isBinary) {
      connection.close(CloseCode.unsupportedData, 'binary frames are not supported')
      this.#forget(connection)
      return
    }
    const retryAfterMs = this.#limiter.consume(connection.userId, now)
    if (retryAfterMs > 0) {
      this.counters.rateLimited++
      this.#sendError(connection, WireError.rateLimited, 'Too many messages. Please slow down.', MessageRouter.requestIdOf(data.toString()), { retry_after: Math.max(1, Math.ceil(retryAfterMs / 1000)) })
      return
    }
    const decoded = this.router.decode(data.toString())
    if (!decoded.ok) {
      this.#sendError(connection, decoded.code, decoded.message, decoded.requestId)
      return
    }
    const context = this.#context(connection, decoded.requestId)
    try {
      const result = decoded.route.handler(decoded.data as never, context)
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).catch((err: unknown) => this.#onHandlerError(connection, decoded.type, err, decoded.requestId))
      }
    } catch (err) {
      this.#onHandlerError(connection, decoded.type, err, decoded.requestId)
    }
  }

  #onHandlerError (connection: Connection, type: string, err: unknown, requestId: string | undefined): void {
    connection.log.error({ err, messageType: type }, 'message handler failed')
    this.#sendError(connection, WireError.handlerError, `Could not handle ${type.slice(0, 64)} message`, requestId)
  }

  #context (connection: Connection, requestId: string | undefined): CoreContext {
    return new HandlerContext(this, connection, requestId)
  }

  /** For HandlerContext: the API, once the plugin has set it. */
  get realtime (): RealtimeApi {
    return this.#requireApi()
  }

  get allowedEvents (): ReadonlySet<string> {
    return this.#options.events
  }

  /** Encodes and sends one message to one connection (replies, errors). */
  replyTo (connection: Connection, type: string, data: unknown): void {
    this.#send(connection, this.delivery.encodeText(type, data))
  }

  errorTo (connection: Connection, code: string, message: string, requestId: string | undefined, extra?: Record<string, unknown>): void {
    this.#sendError(connection, code, message, requestId, extra)
  }

  #requireApi (): RealtimeApi {
    /* c8 ignore next */ // set by the plugin right after construction
    if (this.#api === undefined) throw new Error('realtime api not ready')
    return this.#api
  }

  #sendError (connection: Connection, code: string, message: string, requestId: string | undefined, extra?: Record<string, unknown>): void {
    this.counters.errors++
    const data: Record<string, unknown> = { code, message, ...extra }
    if (requestId !== undefined) data.request_id = requestId
    this.#send(connection, this.delivery.encodeText('error', data))
  }

  #send (connection: Connection, text: string): void {
    this.delivery.sendToOne(connection, text)
  }

  /** Applies a message another node published. */
  receive (message: ClusterMessage): void {
    if (message.kind === 'deliver') {
      this.delivery.deliverLocal(message.target, Buffer.from(message.payload))
    } else {
      this.disconnectLocal(message.userId, message.code, message.reason)
    }
  }

  deliverTo (target: DeliveryTarget, type: string, data: unknown): Promise<number> {
    return this.delivery.deliver(target, this.delivery.encode(type, data))
  }

  disconnectLocal (userId: string, code: number, reason: string): number {
    const connections = this.registry.forUser(userId)
    if (connections === undefined) return 0
    const closing = [...connections]
    for (const connection of closing) {
      connection.close(code, reason)
      this.#forget(connection)
    }
    return closing.length
  }

  stats (): RealtimeStats {
    const stats: RealtimeStats = {
      connections: this.registry.size,
      users: this.registry.userCount,
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      errors: this.counters.errors,
      rateLimited: this.counters.rateLimited,
      connectionsOpened: this.counters.connectionsOpened,
      connectionsRejected: this.counters.connectionsRejected,
      slowConsumerEvents: this.counters.slowConsumerEvents,
      heartbeatTimeouts: this.counters.heartbeatTimeouts,
      subscriptions: this.registry.subscriptionCounts(),
      uptimeSeconds: Math.floor((Date.now() - this.#startedAt) / 1000),
      eventLoopDelayMs: { ...this.#recentLoopDelay },
      nodeId: this.nodeId
    }
    return stats
  }

  /** Closes every connection with `code` and stops the sweep. */
  close (code: number, reason: string): void {
    this.#isClosing = true
    this.#sweepTimer.stop()
    this.#loopDelay.disable()
    for (const connection of [...this.registry.all()]) {
      connection.close(code, reason)
      this.#forget(connection)
    }
  }
}

const kConnection = Symbol('fastify-realtime.connection')
type SocketWithConnection = WebSocket & { [kConnection]: Connection }

interface SocketEvents {
  message (connection: Connection, data: RawData, isBinary: boolean): void
  pong (connection: Connection): void
  close (connection: Connection): void
}

const connectionOf = (socket: WebSocket): Connection => (socket as SocketWithConnection)[kConnection]

/** Listeners shared by every socket of a node, instead of four closures per connection. */
function createSocketListeners (events: SocketEvents) {
  return {
    message (this: WebSocket, data: RawData, isBinary: boolean): void { events.message(connectionOf(this), data, isBinary) },
    pong (this: WebSocket): void { events.pong(connectionOf(this)) },
    close (this: WebSocket): void { events.close(connectionOf(this)) },
    error (this: WebSocket, err: Error & { code?: string }): void {
      // ws closes the socket itself after these (1009 too big, 1007 bad UTF-8, ...): log the cause, never the payload
      connectionOf(this).log.debug({ code: err.code }, 'websocket error')
    }
  }
}

/**
 * What a handler gets: one small object per message, its methods shared on
 * the prototype (no closures allocated per message).
 */
class HandlerContext implements CoreContext {
  readonly #node: RealtimeNode
  readonly connection: Connection
  readonly requestId: string | undefined

  constructor (node: RealtimeNode, connection: Connection, requestId: string | undefined) {
    this.#node = node
    this.connection = connection
    this.requestId = requestId
  }

  get log (): FastifyBaseLogger { return this.connection.log }
  get realtime (): RealtimeApi { return this.#node.realtime }
  get registry (): Registry<Connection> { return this.#node.registry }
  get allowedEvents (): ReadonlySet<string> { return this.#node.allowedEvents }

  reply (type: string, data: unknown): void {
    this.#node.replyTo(this.connection, type, data)
  }

  sendError (code: string, message: string, extra?: { details?: string[] }): void {
    this.#node.errorTo(this.connection, code, message, this.requestId, extra)
  }
}
