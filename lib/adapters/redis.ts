import { EventEmitter } from 'node:events'
import type { Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Adapter, AdapterContext, AdapterHealth, ClusterMessage, ClusterStats } from './adapter.js'
import { AdapterClosedError, AdapterNotConnectedError, AdapterUnavailableError } from '../errors.js'
import { RedisPresence, type PresenceClient } from './redis-presence.js'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'
import { RedisHistory } from './redis-history.js'
import { checkClient, resolveRedisOptions, type RedisAdapterOptions, type RedisClientLike, type ResolvedRedisOptions } from './redis-options.js'
import { connectionOptions, defineScripts, loadIORedis, openConnection, quit, type Publisher } from './redis-connection.js'
import { BROADCAST_FRAME_START, decodeFrames, encodeBody, isFrameFrom, senderLine } from './redis-frame-codec.js'
import { PublishBatcher } from './redis-publish-batcher.js'
import { RedisLeases } from './redis-leases.js'
import { ChannelCountQueries } from './redis-count-queries.js'
import { RedisChannelRouting } from './redis-channel-routing.js'

export { RedisAdapterDataOptionsSchema } from './redis-options.js'
export type { RedisAdapterDataOptions, RedisAdapterOptions, RedisClientLike } from './redis-options.js'

/** `connecting` until start() succeeds, then `connected` / `disconnected` as Redis comes and goes, `closed` at the end. */
export type RedisAdapterStatus = 'connecting' | 'connected' | 'disconnected' | 'closed'

/**
 * Scale-out over Redis: one pub/sub channel per cluster carries every
 * node's already-encoded messages, and leases in Redis count each user's
 * connections across the cluster. Opens two connections (a publisher that
 * also runs the lease scripts, and a subscriber) and closes both on close().
 * The frames are lib/adapters/redis-frame-codec.ts's, the leases
 * lib/adapters/redis-leases.ts's, the channel counts
 * lib/adapters/redis-count-queries.ts's, which Redis channel carries what
 * lib/adapters/redis-channel-routing.ts's.
 */
export class RedisAdapter extends EventEmitter<{ status: [RedisAdapterStatus] }> implements Adapter {
  readonly #options: ResolvedRedisOptions
  readonly #client: RedisClientLike | undefined
  readonly #prefix: string
  readonly #channel: string
  readonly #leases: RedisLeases
  readonly #counts: ChannelCountQueries
  readonly #routing: RedisChannelRouting
  readonly #batcher: PublishBatcher
  #pub: Publisher | undefined
  #sub: Redis | undefined
  // set by start(), before anything reads them
  #context!: AdapterContext
  #log!: FastifyBaseLogger
  #nodeId = ''
  #ownLine = ''
  #status: RedisAdapterStatus = 'connecting'
  #isClosing = false
  #hasWarnedFrame = false
  /** Why Redis is unreachable, while it is. */
  #lastError: string | undefined
  #reconnects = 0
  #presence: RedisPresence | undefined
  /** Channels with history and inboxes, in Redis Streams (lib/adapters/redis-history.ts). */
  readonly history: RedisHistory

  constructor (options: RedisAdapterOptions = {}) {
    super()
    const { client, ...data } = options
    const resolved = resolveRedisOptions(data)
    checkClient(client, data.url)
    this.#options = resolved
    this.#client = client
    this.#prefix = resolved.keyPrefix + ':'
    this.#routing = new RedisChannelRouting({
      prefix: this.#prefix,
      routing: resolved.channelRouting,
      subscriber: () => this.#status === 'connected' && !this.#isClosing ? this.#sub : undefined
    })
    this.#channel = this.#routing.clusterChannel
    const adapter = this
    this.#leases = new RedisLeases({
      get nodeId () { return adapter.#nodeId },
      prefix: this.#prefix,
      leaseMs: resolved.leaseMs,
      heartbeatMs: resolved.heartbeatMs,
      handshakeGraceMs: resolved.handshakeGraceMs,
      connected: () => this.#connected(),
      ready: () => this.#pub?.status === 'ready' ? this.#pub : undefined,
      afterBeat: (existed) => this.#presence?.afterBeat(existed),
      onBeatFailed: (err) => {
        if (this.#status === 'connecting') throw err
        this.#log.debug({ err }, 'fastify-realtime: Redis heartbeat failed')
      },
      hasConnection: (connectionId) => this.#context.hasConnection(connectionId)
    })
    this.#batcher = new PublishBatcher({
      get nodeId () { return adapter.#nodeId },
      publish: (channel, text) => (this.#pub as Publisher).publish(channel, text)
    }, { isEnabled: resolved.publishBatching })
    this.#counts = new ChannelCountQueries({
      get nodeId () { return adapter.#nodeId },
      timeoutMs: resolved.commandTimeoutMs,
      localChannelSubscribers: (channel) => this.#context.localChannelSubscribers(channel),
      // frames arrive only after start(), which opened the publisher
      publish: (frame) => this.#flushed().publish(this.#channel, frame),
      // Redis refused the answer's PUBLISH right as a count question came in; the asking node times out
      // on its own (FST_REALTIME_CLUSTER_COUNT_TIMEOUT, tested there), so this only leaves a debug line
      /* c8 ignore next */
      onAnswerFailed: (err) => this.#log.debug({ err }, 'fastify-realtime: could not answer a channel count')
    })
    this.history = new RedisHistory({
      keyPrefix: this.#prefix,
      commands: () => this.#connected(),
      redisChannelOf: (target) => this.#routing.redisChannelOf(target),
      // every node applies these, this one too: a stream's messages reach each node in one order
      broadcastFrameStart: BROADCAST_FRAME_START
    })
  }

  get status (): RedisAdapterStatus {
    return this.#status
  }

  /** For app.realtime.health() and the metrics: connected, why not, and how often it came back. */
  health (): AdapterHealth {
    const connected = this.#status === 'connected'
    const health: AdapterHealth = { connected, reconnects: this.#reconnects }
    if (!connected) health.lastError = this.#lastError ?? `Redis adapter is ${this.#status}`
    return health
  }

  /** Connection slots this node holds in Redis (accepted or in handshake). */
  get leaseCount (): number {
    return this.#leases.size
  }

  async start (context: AdapterContext): Promise<void> {
    this.#context = context
    this.#log = context.log.child({ adapter: 'redis' })
    this.#nodeId = context.nodeId
    this.#ownLine = senderLine(this.#nodeId)
    const options = connectionOptions(this.#nodeId, this.#options.commandTimeoutMs)
    const pub = defineScripts(openConnection(this.#client, this.#options.url, options))
    const sub = openConnection(this.#client, this.#options.url, options)
    this.#pub = pub
    this.#sub = sub
    for (const connection of [pub, sub]) {
      connection.on('error', (err: Error) => this.#onConnectionLost(err))
      connection.on('close', () => this.#onConnectionLost(undefined))
    }
    sub.on('message', (_channel: string, text: string) => this.#onFrame(text))

    try {
      await Promise.all([pub.connect(), sub.connect()])
      await sub.subscribe(this.#channel)
      await this.#leases.beat()
    } catch (err) {
      this.#status = 'closed'
      this.#lastError = (err as Error).message
      pub.disconnect()
      sub.disconnect()
      throw new AdapterUnavailableError(`Redis: ${(err as Error).message}`)
    }
    pub.on('ready', () => this.#onReady())
    sub.on('ready', () => this.#onReady())
    this.#leases.startBeating()
    this.#setStatus('connected')
  }

  /** The publisher while connected, else undefined; frames waiting go first, so no command overtakes them. */
  #connected (): Publisher | undefined {
    if (this.#status !== 'connected') return undefined
    this.#batcher.flush()
    return this.#pub
  }

  /** The publisher, once the frames waiting are on their way (they were published before what comes next). */
  #flushed (): Publisher {
    this.#batcher.flush()
    return this.#pub as Publisher
  }

  async publish (message: ClusterMessage): Promise<void> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new AdapterNotConnectedError(`Redis adapter is ${this.#status}`)
    // coalesced with the others of this turn (lib/adapters/redis-publish-batcher.ts)
    await this.#batcher.publish(message.kind === 'deliver' ? this.#routing.redisChannelOf(message.target) : this.#channel, encodeBody(message, Date.now()))
  }

  /** Per-channel routing: listen to the channel's Redis channel (the index calls this on its first local member). */
  async subscribeChannel (channel: string): Promise<void> {
    await this.#routing.subscribe(channel)
  }

  async unsubscribeChannel (channel: string): Promise<void> {
    await this.#routing.unsubscribe(channel)
  }

  /** Channels this node listens to in Redis (per-channel routing). */
  get listenedChannelCount (): number {
    return this.#routing.size
  }

  /** Asks every node for its count over the cluster channel and sums the answers (lib/adapters/redis-count-queries.ts). */
  async clusterSubscribersOf (channel: string): Promise<number> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new AdapterNotConnectedError(`Redis adapter is ${this.#status}`)
    return await this.#counts.ask(channel)
  }

  /** Every frame on the channels this node listens to. */
  #onFrame (text: string): void {
    // our own messages come back to us: skip them before parsing anything
    if (isFrameFrom(text, this.#ownLine)) return
    for (const decoded of decodeFrames(text)) {
      if (decoded.kind === 'invalid') {
        this.#warnFrame()
      } else if (decoded.kind === 'adapter') {
        this.#counts.onFrame(decoded.frame, decoded.from)
      } else {
        try {
          this.#context.receive(decoded.message)
        } catch (err) {
          this.#log.error({ err }, 'fastify-realtime: could not apply a message from another node')
        }
      }
    }
  }

  #warnFrame (): void {
    // another version of the plugin on the same prefix: say it once, not per message
    if (this.#hasWarnedFrame) return
    this.#hasWarnedFrame = true
    this.#log.warn({ channel: this.#channel }, 'fastify-realtime: ignoring messages in an unknown format on the Redis channel')
  }

  async acquireConnection (userId: string, connectionId: string, max: number): Promise<boolean> {
    return await this.#leases.acquire(userId, connectionId, max)
  }

  /** Never rejects for a Redis outage: the next heartbeat after it reconciles Redis with this node's leases. */
  async releaseConnection (userId: string, connectionId: string): Promise<void> {
    await this.#leases.release(userId, connectionId)
  }

  /** Presence kept in Redis beside the leases: a dead node's users leave when its lease lapses. */
  presence (context: PresenceBackendContext): PresenceBackend {
    const adapter = this
    this.#presence = new RedisPresence(context, {
      get nodeId () { return adapter.#nodeId },
      prefix: this.#prefix,
      leaseMs: this.#options.leaseMs,
      heartbeatMs: this.#options.heartbeatMs,
      sweepMs: this.#options.presenceSweepMs,
      client: () => this.#connected() as PresenceClient | undefined,
      requestBeat: () => { this.#leases.beat().catch(() => {}) }
    })
    return this.#presence
  }

  async clusterStats (): Promise<ClusterStats> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new AdapterNotConnectedError(`Redis adapter is ${this.#status}`)
    const [nodes, connections, users] = await this.#leases.stats(pub)
    return { nodes, connections, users }
  }

  async close (): Promise<void> {
    if (this.#isClosing) return
    this.#isClosing = true
    await this.#leases.stopBeating()
    const pub = this.#pub
    const sub = this.#sub
    // what was published before close() still goes (QUIT waits for its replies)
    this.#batcher.flush()
    if (pub !== undefined && pub.status === 'ready') {
      try {
        await this.#leases.leave(pub)
      } catch (err) {
        // the leases expire with the node key anyway
        this.#log.debug({ err }, 'fastify-realtime: could not remove this node\'s leases from Redis')
      }
    }
    this.#leases.clear()
    this.#counts.rejectAll(new AdapterClosedError('Redis adapter closed'))
    await Promise.all([quit(pub), quit(sub)])
    this.#setStatus('closed')
  }

  #onConnectionLost (err: Error | undefined): void {
    if (this.#isClosing) return
    if (err !== undefined) this.#lastError = err.message
    if (this.#status === 'connected') {
      this.#leases.markDirty()
      this.#setStatus('disconnected')
      // once per outage; ioredis keeps reconnecting with backoff and its later errors stay quiet
      this.#log.error({ err }, 'fastify-realtime: lost the connection to Redis; delivering locally only until it is back')
    } else {
      this.#log.debug({ err }, 'fastify-realtime: Redis still unreachable')
    }
  }

  #onReady (): void {
    /* c8 ignore next */ // ready only follows a lost connection, which set disconnected; kept as a guard
    if (this.#isClosing || this.#status !== 'disconnected') return
    const pub = this.#pub
    const sub = this.#sub
    if (pub?.status !== 'ready' || sub?.status !== 'ready') return
    this.#routing.resubscribe(sub)
      .then(() => this.#leases.beat())
      .then(() => {
        /* c8 ignore next */ // lost again (or closed) while resubscribing: the next ready tries again
        if (this.#isClosing || this.#status !== 'disconnected' || pub.status !== 'ready' || sub.status !== 'ready') return
        this.#reconnects++
        this.#lastError = undefined
        this.#setStatus('connected')
        this.#log.info('fastify-realtime: reconnected to Redis; cross-node delivery resumed')
        // announcements need the channel back: presence is put right once connected
        return this.#presence?.afterBeat(true)
      })
      .catch((err: unknown) => this.#log.debug({ err }, 'fastify-realtime: could not resubscribe yet'))
  }

  #setStatus (status: RedisAdapterStatus): void {
    this.#status = status
    this.emit('status', status)
  }
}

/**
 * A Redis adapter for `adapter:` — `redisAdapter({ url })` or
 * `redisAdapter({ client })`. Needs the optional peer dependency ioredis 5,
 * loaded only when this is called.
 */
export function redisAdapter (options: RedisAdapterOptions = {}): RedisAdapter {
  if (options.client === undefined) loadIORedis()
  return new RedisAdapter(options)
}
