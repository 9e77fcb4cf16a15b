import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { FastifyBaseLogger } from 'fastify'
import { Connection } from './connection.js'
import { Registry } from './registry.js'
import { Inbound } from './inbound.js'
import { Replies } from './replies.js'
import { Outbound } from './outbound.js'
import { createSocketListeners, failureCloseCode, kConnection, type SocketWithConnection } from './socket-listeners.js'
import { MessageRouter } from './message-router.js'
import { Delivery } from './delivery.js'
import { Counters, statsOf, type RealtimeStats } from './stats.js'
import { sweep, sweepTickMs, SweepTimer } from './heartbeat-sweep.js'
import { CloseCode } from './protocol/codes.js'
import { addProtocolHandlers } from './handlers/protocol-handlers.js'
import { HandlerContext } from './handler-context.js'
import { LoadSampler } from './load-sampler.js'
import type { RealtimeClock } from './clock.js'
import type { ResolvedOptions } from './options.js'
import type { Adapter } from './adapters/adapter.js'
import type { RealtimeApi } from './realtime-api.js'
import type { PresenceTracker } from './presence/presence-tracker.js'
import { Channels } from './channels/channels.js'
import type { NodeMetrics } from './observability/metrics.js'
import { HandshakeObserver } from './observability/handshake-observer.js'
import { closeFields } from './observability/labels.js'
import type { ServerSocket } from './server-socket.js'
import { Streams } from './history/streams.js'
import { MemoryHistory } from './history/memory.js'
import { welcomeWithInbox } from './history/recovery.js'
import { JsonText } from './protocol/serializers.js'
import type { StreamPosition } from './protocol/server-messages.js'
import type { Identity } from './identity.js'

export const FEATURES = Object.freeze(['heartbeat', 'subscriptions', 'rate_limiting'])

/** How long a peer has to answer the server's close frame before its socket is destroyed. */
export const CLOSE_GRACE_MS = 2000

export type { Identity } from './identity.js'

/** What a node is built from; what hangs off it is built from it, in its constructor, so nothing is set afterwards. */
export interface RealtimeNodeOptions {
  options: ResolvedOptions
  adapter: Adapter
  log: FastifyBaseLogger
  /** The API handlers see as `ctx.realtime`; it is built from the node, so it is asked for when a handler runs. */
  realtime: () => RealtimeApi
  /** Called once per connection when it leaves the registry (adapters release cluster slots). */
  onForget?: ((connection: Connection) => void) | undefined
  /** The metrics, when the option is on: built from the node's counters and registry. */
  metrics?: ((node: RealtimeNode) => NodeMetrics | undefined) | undefined
  /** The presence tracker, when presence is on: it announces through the node. */
  presence?: ((node: RealtimeNode) => PresenceTracker | undefined) | undefined
}

/**
 * The realtime server of one process, independent of Fastify's routing:
 * accepts authenticated sockets, routes their messages, delivers, sweeps.
 * It is the composition root of a node (its constructor wires the registry,
 * delivery, replies, streams, the inbound pipeline and the outbound side,
 * each in its own file), which is why it is longer than the rest; what is
 * left here is a connection's lifecycle: accept, welcome, forget, close.
 */
export class RealtimeNode {
  readonly nodeId = randomUUID()
  readonly registry = new Registry<Connection>()
  readonly counters = new Counters()
  readonly router = new MessageRouter()
  readonly delivery: Delivery
  /** Replies and error frames to one connection. */
  readonly replies: Replies
  /** Deliveries the app asks for, and what other nodes publish. */
  readonly outbound: Outbound
  /** Declared namespaces, who is in which channel, pending authorizations. */
  readonly channels: Channels
  /** There when the metrics option is on; the hot paths check it once. */
  #metrics: NodeMetrics | undefined
  readonly handshakes = new HandshakeObserver(this.counters, () => this.#metrics)
  /** Told of every accepted and forgotten connection, when presence is on. */
  readonly presence: PresenceTracker | undefined
  readonly #onForget: ((connection: Connection) => void) | undefined
  readonly #realtime: () => RealtimeApi
  /** Channels with history and the inbox: offsets, history, recovery. */
  readonly streams: Streams
  /** The event loop delay, sampled on each sweep tick. */
  readonly load = new LoadSampler()
  readonly #options: ResolvedOptions
  /** The seed's features, 'channels' when the host declared namespaces, 'presence' when user presence is on. */
  readonly #features: readonly string[]
  /** connection.established's data after server_time, the same for every connection (#welcomeData). */
  readonly #welcomeTail: string
  readonly #log: FastifyBaseLogger
  readonly #inbound: Inbound
  /** The options' clock: the real one unless a test gave its own. */
  readonly #clock: RealtimeClock
  readonly #sweepTimer: SweepTimer
  readonly #startedAt: number
  #isClosing = false
  /** Connections the server is closing, until their socket closes or the grace ends. */
  readonly #closing = new Set<Connection>()

  constructor ({ options, adapter, log, realtime, onForget, metrics, presence }: RealtimeNodeOptions) {
    this.#options = options
    this.#log = log
    this.#clock = options.clock
    this.#sweepTimer = new SweepTimer(options.clock)
    this.#startedAt = options.clock.now()
    this.#realtime = realtime
    this.#onForget = onForget
    this.channels = new Channels(options, adapter, log)
    const extra = [...(options.channels.size > 0 ? ['channels'] : []), ...(options.presence !== undefined ? ['presence'] : [])]
    this.#features = extra.length > 0 ? Object.freeze([...FEATURES, ...extra]) : FEATURES
    this.#welcomeTail = `,"features":${JSON.stringify(this.#features)},"heartbeat_interval_ms":${JSON.stringify(options.heartbeatIntervalMs)},"connection_timeout_ms":${JSON.stringify(options.connectionTimeoutMs)}`
    this.delivery = new Delivery(this.registry, {
      maxMessageSize: options.maxMessageSize,
      maxBufferedBytes: options.maxBufferedBytes,
      closeSlowConsumer: options.slowConsumer === 'close',
      framesOnce: !options.compression,
      onClosed: (connection) => this.#forget(connection)
    }, adapter, this.counters, this.channels.index)
    this.replies = new Replies(this.delivery, this.counters, options.maxMessageSize)
    this.streams = new Streams({
      namespaces: options.channels,
      inbox: options.inbox,
      maxRecoveredMessages: options.maxRecoveredMessages,
      maxMessageSize: options.maxMessageSize,
      maxBufferedBytes: options.maxBufferedBytes
    }, adapter.history ?? new MemoryHistory(), {
      registry: this.registry,
      index: this.channels.index,
      delivery: this.delivery,
      reply: (connection, type, data) => this.replies.replyTo(connection, type, data, undefined),
      overflow: (connection) => {
        this.counters.slowConsumerEvents++
        connection.log.warn('closing slow consumer: too much held while recovering')
        connection.close(CloseCode.slowConsumer, 'slow consumer')
        this.#forget(connection)
      }
    })
    addProtocolHandlers(this.router)
    for (const [type, definition] of options.messages) this.router.add(type, definition.schema, definition.handler)
    this.#inbound = new Inbound({
      rateLimit: options.rateLimit,
      clock: options.clock,
      router: this.router,
      counters: this.counters,
      context: (connection, requestId) => new HandlerContext(this, connection, requestId),
      sendError: (connection, code, message, requestId, extra) => this.replies.errorTo(connection, code, message, requestId, extra),
      forget: (connection) => this.#forget(connection)
    })
    this.outbound = new Outbound({
      counters: this.counters,
      registry: this.registry,
      channels: this.channels,
      delivery: this.delivery,
      streams: this.streams,
      replies: this.replies,
      log,
      metrics: () => this.#metrics,
      disconnect: (userId, code, reason) => this.disconnectLocal(userId, code, reason)
    })
    this.#metrics = metrics?.(this)
    this.presence = presence?.(this)
  }

  start (): void {
    this.load.start()
    const tick = sweepTickMs(this.#options.heartbeatIntervalMs)
    this.#sweepTimer.start(tick, () => this.sweep(this.#clock.now()))
  }

  get isClosing (): boolean {
    return this.#isClosing
  }

  sweep (now: number): void {
    sweep(now, this.#options, {
      connections: () => this.registry.all(),
      onTimeout: (connection) => {
        this.counters.heartbeatTimeouts++
        connection.log.debug(closeFields(CloseCode.heartbeatTimeout), 'closing connection: no sign of life')
        connection.close(CloseCode.heartbeatTimeout, 'connection timeout')
        this.#forget(connection)
      },
      onExpired: (connection) => {
        connection.log.debug(closeFields(CloseCode.tokenExpired), 'closing connection: token expired')
        connection.close(CloseCode.tokenExpired, 'token expired')
        this.#forget(connection)
      },
      afterSweep: (sweptAt) => {
        this.#cutOffUnanswered(sweptAt)
        this.#inbound.afterSweep(sweptAt)
        this.streams.sweep(sweptAt)
        this.load.sample()
      }
    })
  }

  readonly #listeners = createSocketListeners({
    message: (connection, data, isBinary) => this.#inbound.onMessage(connection, data, isBinary),
    pong: (connection) => { connection.lastSeenAt = this.#clock.now() },
    close: (connection, code) => {
      connection.markClosed()
      this.#closing.delete(connection)
      this.#forget(connection)
      this.#onClosed(connection, code)
    },
    error: (connection, err) => {
      // ws fails the connection itself after these (1002 bad framing, 1007 bad UTF-8, 1009 too big): log the
      // cause, never the payload, and forget it now rather than when (or if) the peer answers ws's close
      connection.log.debug({ code: err.code }, 'websocket error')
      connection.close(failureCloseCode(err), 'protocol error')
      this.#forget(connection)
    }
  })

  /** Registers an upgraded socket and starts its conversation. */
  accept (serverSocket: ServerSocket, identity: Identity): Connection {
    const socket = serverSocket as WebSocket // typed structurally in the signature: the published .d.ts must not need @types/ws
    const now = this.#clock.now()
    // the node's logger, not the upgrade request's: a connection must not keep its request alive
    const connection = new Connection(socket, identity.connectionId ?? randomUUID(), identity.userId, identity.user, identity.expiresAt, this.#log, this.#clock, now)
    this.registry.add(connection)
    this.counters.connectionsOpened++
    this.presence?.connected(connection)

    // the same four listener functions for every socket: the socket names its connection
    ;(socket as SocketWithConnection)[kConnection] = connection
    socket.on('message', this.#listeners.message)
    socket.on('pong', this.#listeners.pong)
    socket.on('close', this.#listeners.close)
    socket.on('error', this.#listeners.error)

    if (this.streams.inbox === undefined && identity.inbox === undefined) {
      this.#welcome(connection, this.#welcomeData(connection, now, undefined))
    } else {
      // the inbox's position (and replay) first: everything else for this connection waits for it
      welcomeWithInbox({
        streams: this.streams,
        connection,
        asked: identity.inbox,
        welcome: (inbox: StreamPosition | undefined) => this.#welcome(connection, this.#welcomeData(connection, now, inbox)),
        result: (streams) => {
          this.counters.countRecoveries(streams)
          this.#welcome(connection, { streams }, 'recovery.result')
        }
      })
    }
    // the node's logger with bindings: a child logger per connection would be kept for its whole life
    this.#log.debug({ connectionId: connection.id, userId: connection.userId }, 'connection established')
    return connection
  }

  /**
   * connection.established's data as JSON, the bytes JSON.stringify wrote of
   * { connection_id, user_id, server_time, features, heartbeat_interval_ms,
   * connection_timeout_ms, inbox? }: the part after server_time is the same
   * for every connection of this node and written once (a connect's own
   * JSON.stringify of it was measured at about 2 % of its server CPU).
   */
  #welcomeData (connection: Connection, now: number, inbox: StreamPosition | undefined): JsonText {
    const head = `{"connection_id":${JSON.stringify(connection.id)},"user_id":${JSON.stringify(connection.userId)},"server_time":"${new Date(now).toISOString()}"`
    return new JsonText(`${head}${this.#welcomeTail}${inbox === undefined ? '' : `,"inbox":${JSON.stringify(inbox)}`}}`)
  }

  /** Sends connection.established (or what follows it before anything else) past the connection's gate. */
  #welcome (connection: Connection, data: JsonText | Record<string, unknown>, type = 'connection.established'): boolean {
    let text: string
    try {
      text = this.delivery.encodeText(type, data)
    } catch (err) {
      // maxMessageSize's minimum leaves ~660 bytes for the user id: only a longer one gets here, and it always would
      this.#log.error({ err, userIdBytes: Buffer.byteLength(connection.userId) }, 'closing connection: its welcome does not fit maxMessageSize (user id too long)')
      connection.close(CloseCode.policyViolation, 'user id too long')
      this.#forget(connection)
      return false
    }
    this.delivery.sendPastGate(connection, text)
    return true
  }

  #forget (connection: Connection): void {
    // a peer that never answers our close frame (it stopped reading) is cut off by the sweep
    if (!connection.isOpen && connection.closingSince > 0) this.#closing.add(connection)
    this.channels.forget(connection)
    if (this.registry.remove(connection)) {
      this.#onForget?.(connection)
      this.presence?.disconnected(connection)
    }
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

  /** Once per socket: counted and logged with the server's close code, or the peer's when it closed first (1005 none, 1006 cut off). */
  #onClosed (connection: Connection, peerCode: number): void {
    const isServerClose = connection.closeCode !== 0
    const code = isServerClose ? connection.closeCode : peerCode
    this.counters.countClose(code)
    this.#log.debug({ connectionId: connection.id, userId: connection.userId, ...closeFields(code), initiatedBy: isServerClose ? 'server' : 'client' }, 'connection closed')
  }

  /** For HandlerContext: the API built from this node. */
  get realtime (): RealtimeApi {
    return this.#realtime()
  }

  get allowedEvents (): ReadonlySet<string> {
    return this.#options.events
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
    return statsOf(this.counters, this.registry, this.channels.index.channelCount, {
      uptimeSeconds: Math.floor((this.#clock.now() - this.#startedAt) / 1000),
      eventLoopDelayMs: this.load.recent(),
      nodeId: this.nodeId
    })
  }

  /** Closes every connection with `code` and stops the sweep. */
  close (code: number, reason: string): void {
    this.#isClosing = true
    // the metrics leave the host's registry at close: nothing is observed into them after this
    this.#metrics = undefined
    this.#sweepTimer.stop()
    this.load.stop()
    for (const connection of [...this.registry.all()]) {
      connection.close(code, reason)
      this.#forget(connection)
    }
  }
}
