import { EventEmitter } from 'node:events'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Redis, RedisOptions } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { Adapter, AdapterContext, AdapterHealth, ClusterMessage, ClusterStats, DeliveryTarget } from './adapter.js'
import { AdapterDependencyMissingError, AdapterUnavailableError, InvalidOptionsError } from '../errors.js'
import { ACQUIRE, HEARTBEAT, LEAVE, RELEASE, RESYNC, STATS } from './redis-scripts.js'
import { RedisPresence, type PresenceClient } from './redis-presence.js'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'
import { HISTORY_APPEND, HISTORY_READ } from './redis-history-scripts.js'
import { RedisHistory, type HistoryCommands } from './redis-history.js'

/** The data options of redisAdapter(): one schema, every default declared here. */
export const RedisAdapterDataOptionsSchema = Type.Object({
  url: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379', description: 'redis:// or rediss:// URL; ignored when client is given' }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 128, default: 'fastify-realtime', description: 'namespace of the keys and of the pub/sub channel: one per logical cluster' }),
  leaseMs: Type.Integer({ minimum: 100, default: 15000, description: 'a node\'s connections stop counting this long after its last heartbeat' }),
  heartbeatMs: Type.Optional(Type.Integer({ minimum: 10, description: 'how often a node refreshes its lease; leaseMs / 3 by default' })),
  handshakeGraceMs: Type.Integer({ minimum: 100, default: 10000, description: 'a slot claimed by a handshake that never became a connection is freed after this' }),
  commandTimeoutMs: Type.Integer({ minimum: 10, default: 2000, description: 'a Redis command not answered in time rejects' }),
  presenceSweepMs: Type.Integer({ minimum: 10, default: 1000, description: 'with presence on: how often a node reaps dead nodes\' users and ends graces that no timer of its own ended' }),
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

/** `connecting` until start() succeeds, then `connected` / `disconnected` as Redis comes and goes, `closed` at the end. */
export type RedisAdapterStatus = 'connecting' | 'connected' | 'disconnected' | 'closed'

interface Scripts {
  rtAcquire (userKey: string, nodeConnsKey: string, nodeKey: string, connectionId: string, nodeId: string, max: number, prefix: string, userId: string): Promise<number>
  rtRelease (userKey: string, nodeConnsKey: string, connectionId: string): Promise<number>
  rtHeartbeat (nodeKey: string, nodesKey: string, nodeId: string, leaseMs: number, prefix: string): Promise<[number, number]>
  rtResync (nodeConnsKey: string, nodeId: string, prefix: string, ...pairs: string[]): Promise<number>
  rtLeave (nodeConnsKey: string, nodeKey: string, nodesKey: string, nodeId: string, prefix: string): Promise<number>
  rtStats (nodesKey: string, prefix: string): Promise<[number, number, number]>
}
type Publisher = Redis & Scripts & HistoryCommands

interface Lease {
  userId: string
  acquiredAt: number
}

type RedisConstructor = new (url: string, options: RedisOptions) => Redis

/** The adapter's own frames on the cluster channel: a channel count asked, and answered. */
type AdapterFrame =
  | { kind: 'count', queryId?: unknown, channel?: unknown }
  | { kind: 'counted', queryId?: unknown, to?: unknown, count?: unknown }

interface CountQuery {
  total: number
  answers: number
  /** How many other nodes heard the question: known once PUBLISH returned (answers may come first). */
  expected: number | undefined
  resolve (total: number): void
  reject (err: Error): void
  timer: NodeJS.Timeout | undefined
}

/** Wire format version: the first line of every frame. */
const FRAME_VERSION = '1'

/**
 * Scale-out over Redis: one pub/sub channel per cluster carries every
 * node's already-encoded messages, and leases in Redis count each user's
 * connections across the cluster. Opens two connections (a publisher that
 * also runs the lease scripts, and a subscriber) and closes both on close().
 */
export class RedisAdapter extends EventEmitter<{ status: [RedisAdapterStatus] }> implements Adapter {
  readonly #options: RedisAdapterDataOptions & { heartbeatMs: number }
  readonly #client: RedisClientLike | undefined
  readonly #prefix: string
  readonly #channel: string
  readonly #nodesKey: string
  readonly #leases = new Map<string, Lease>()
  /** Channels this node has connections in (per-channel routing): what it SUBSCRIBEs to, again after an outage. */
  readonly #listened = new Set<string>()
  readonly #queries = new Map<string, CountQuery>()
  #nextQuery = 0
  #pub: Publisher | undefined
  #sub: Redis | undefined
  // set by start(), before anything reads them
  #context!: AdapterContext
  #log!: FastifyBaseLogger
  #nodeId = ''
  #ownPrefix = ''
  #status: RedisAdapterStatus = 'connecting'
  #timer: NodeJS.Timeout | undefined
  #beating: Promise<void> | undefined
  /** Redis may not hold exactly our leases (an acquire or release happened during an outage). */
  #isDirty = false
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
    if (client !== undefined && (client === null || typeof (client as { duplicate?: unknown }).duplicate !== 'function')) {
      throw new InvalidOptionsError('redisAdapter: client must be an ioredis client (with duplicate())')
    }
    if (client !== undefined && data.url !== undefined) {
      throw new InvalidOptionsError('redisAdapter: give url or client, not both')
    }
    this.#options = resolved
    this.#client = client
    this.#prefix = resolved.keyPrefix + ':'
    this.#channel = this.#prefix + 'messages'
    this.#nodesKey = this.#prefix + 'nodes'
    this.history = new RedisHistory({
      keyPrefix: this.#prefix,
      commands: () => this.#status === 'connected' ? this.#pub : undefined,
      redisChannelOf: (target) => this.#redisChannelOf(target),
      // every node applies these, this one too: a stream's messages reach each node in one order
      broadcastFrameStart: `${FRAME_VERSION}\n*\n`
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
    this.#ownPrefix = this.#nodeId + '\n'
    const connectionOptions: RedisOptions = {
      lazyConnect: true,
      // fail fast while Redis is away: nothing queues up, a publish rejects at once
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#options.commandTimeoutMs,
      connectionName: `fastify-realtime:${this.#nodeId}`,
      // we resubscribe ourselves, so we know when the channel is live again
      autoResubscribe: false
    }
    const pub = this.#open(connectionOptions) as Publisher
    const sub = this.#open(connectionOptions)
    this.#pub = pub
    this.#sub = sub
    pub.defineCommand('rtAcquire', { numberOfKeys: 3, lua: ACQUIRE })
    pub.defineCommand('rtRelease', { numberOfKeys: 2, lua: RELEASE })
    pub.defineCommand('rtHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT })
    pub.defineCommand('rtResync', { numberOfKeys: 1, lua: RESYNC })
    pub.defineCommand('rtLeave', { numberOfKeys: 3, lua: LEAVE })
    pub.defineCommand('rtStats', { numberOfKeys: 1, lua: STATS })
    pub.defineCommand('rtHistoryAppend', { numberOfKeys: 0, lua: HISTORY_APPEND })
    pub.defineCommand('rtHistoryRead', { numberOfKeys: 0, lua: HISTORY_READ })
    for (const connection of [pub, sub]) {
      connection.on('error', (err: Error) => this.#onConnectionLost(err))
      connection.on('close', () => this.#onConnectionLost(undefined))
    }
    sub.on('message', (_channel: string, text: string) => this.#onFrame(text))

    try {
      await Promise.all([pub.connect(), sub.connect()])
      await sub.subscribe(this.#channel)
      await this.#beat()
    } catch (err) {
      this.#status = 'closed'
      this.#lastError = (err as Error).message
      pub.disconnect()
      sub.disconnect()
      throw new AdapterUnavailableError(`Redis: ${(err as Error).message}`)
    }
    pub.on('ready', () => this.#onReady())
    sub.on('ready', () => this.#onReady())
    this.#timer = setInterval(() => { void this.#beat() }, this.#options.heartbeatMs)
    this.#timer.unref()
    this.#setStatus('connected')
  }

  #open (options: RedisOptions): Redis {
    if (this.#client !== undefined) return this.#client.duplicate(options as Record<string, unknown>) as Redis
    const IORedis = loadIORedis()
    return new IORedis(this.#options.url, options)
  }

  async publish (message: ClusterMessage): Promise<void> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new Error(`Redis adapter is ${this.#status}`)
    await pub.publish(message.kind === 'deliver' ? this.#redisChannelOf(message.target) : this.#channel, this.#frame(message))
  }

  #redisChannelOf (target: DeliveryTarget): string {
    return target.kind === 'channel' && this.#options.channelRouting === 'per-channel' ? this.#channelKey(target.channel) : this.#channel
  }

  /** Per-channel routing: listen to the channel's Redis channel (the index calls this on its first local member). */
  async subscribeChannel (channel: string): Promise<void> {
    if (this.#options.channelRouting === 'shared') return
    this.#listened.add(channel)
    const sub = this.#sub
    // while Redis is away the channel is subscribed with the others when it is back
    if (sub === undefined || this.#status !== 'connected' || this.#isClosing) return
    await sub.subscribe(this.#channelKey(channel))
  }

  async unsubscribeChannel (channel: string): Promise<void> {
    if (!this.#listened.delete(channel)) return
    const sub = this.#sub
    if (sub === undefined || this.#status !== 'connected' || this.#isClosing) return
    await sub.unsubscribe(this.#channelKey(channel))
  }

  /** Channels this node listens to in Redis (per-channel routing). */
  get listenedChannelCount (): number {
    return this.#listened.size
  }

  /**
   * Asks every node for its count over the cluster channel and sums the
   * answers: nothing is stored per subscription, the cost is paid when
   * asked. PUBLISH says how many nodes heard the question; rejects if they
   * have not all answered within commandTimeoutMs.
   */
  async clusterSubscribersOf (channel: string): Promise<number> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new Error(`Redis adapter is ${this.#status}`)
    const queryId = `${this.#nodeId}:${++this.#nextQuery}`
    let resolve!: (total: number) => void
    let reject!: (err: Error) => void
    const answered = new Promise<number>((res, rej) => { resolve = res; reject = rej })
    const query: CountQuery = { total: this.#context.localChannelSubscribers(channel), answers: 0, expected: undefined, resolve, reject, timer: undefined }
    this.#queries.set(queryId, query)
    query.timer = setTimeout(() => {
      this.#queries.delete(queryId)
      reject(new Error(`not every node answered within ${this.#options.commandTimeoutMs} ms`))
    }, this.#options.commandTimeoutMs)
    query.timer.unref()
    try {
      const heard = await pub.publish(this.#channel, `${FRAME_VERSION}\n${this.#nodeId}\n${JSON.stringify({ kind: 'count', queryId, channel })}\n`)
      // every node hears it, this one included
      query.expected = Math.max(0, heard - 1)
      this.#settleIfComplete(queryId, query)
    } catch (err) {
      clearTimeout(query.timer)
      this.#queries.delete(queryId)
      throw err
    }
    return answered
  }

  #settleIfComplete (queryId: string, query: CountQuery): void {
    if (query.expected === undefined || query.answers < query.expected) return
    clearTimeout(query.timer)
    this.#queries.delete(queryId)
    query.resolve(query.total)
  }

  #answerCount (header: { queryId?: unknown, channel?: unknown }, from: string): void {
    if (typeof header.queryId !== 'string' || typeof header.channel !== 'string') return
    const count = this.#context.localChannelSubscribers(header.channel)
    const answer = `${FRAME_VERSION}\n${this.#nodeId}\n${JSON.stringify({ kind: 'counted', queryId: header.queryId, to: from, count })}\n`
    this.#pub?.publish(this.#channel, answer).catch((err: unknown) => this.#log.debug({ err }, 'fastify-realtime: could not answer a channel count'))
  }

  /** After an outage: the channels this node has connections in, a thousand per command. */
  async #resubscribeChannels (sub: Redis): Promise<void> {
    const keys = [...this.#listened].map(channel => this.#channelKey(channel))
    for (let i = 0; i < keys.length; i += 1000) await sub.subscribe(...keys.slice(i, i + 1000))
  }

  #channelKey (channel: string): string {
    return `${this.#prefix}channel:${channel}`
  }

  /**
   * `1\n<nodeId>\n<header JSON>\n<payload>`: the payload is the encoded text as is, never re-encoded.
   * A deliver header carries `publishedAt` (this node's clock) for the receiving node's latency metric;
   * nodes that do not read it ignore it.
   */
  #frame (message: ClusterMessage): string {
    if (message.kind === 'deliver') {
      return `${FRAME_VERSION}\n${this.#nodeId}\n${JSON.stringify({ kind: 'deliver', target: message.target, publishedAt: Date.now() })}\n${message.payload}`
    }
    return `${FRAME_VERSION}\n${this.#nodeId}\n${JSON.stringify(message)}\n`
  }

  /** The subscriber listens to our one channel only. */
  #onFrame (text: string): void {
    // our own messages come back to us: skip them before parsing anything
    if (text.startsWith(this.#ownPrefix, 2)) return
    const nodeEnd = text.indexOf('\n', 2)
    const headerEnd = nodeEnd === -1 ? -1 : text.indexOf('\n', nodeEnd + 1)
    if (text[0] !== FRAME_VERSION || text[1] !== '\n' || headerEnd === -1) {
      this.#warnFrame()
      return
    }
    let message: ClusterMessage
    try {
      const header = JSON.parse(text.slice(nodeEnd + 1, headerEnd)) as (ClusterMessage & { publishedAt?: unknown }) | AdapterFrame
      if (header.kind === 'count' || header.kind === 'counted') {
        this.#onQueryFrame(header, text.slice(2, nodeEnd))
        return
      }
      if (header.kind === 'deliver') {
        message = { kind: 'deliver', target: header.target, payload: text.slice(headerEnd + 1) }
        if (typeof header.publishedAt === 'number') message.publishedAt = header.publishedAt
        if (header.seq !== undefined) message.seq = header.seq
      } else {
        message = header
      }
    } catch {
      this.#warnFrame()
      return
    }
    try {
      this.#context.receive(message)
    } catch (err) {
      this.#log.error({ err }, 'fastify-realtime: could not apply a message from another node')
    }
  }

  #onQueryFrame (frame: AdapterFrame, from: string): void {
    if (frame.kind === 'count') {
      this.#answerCount(frame, from)
      return
    }
    if (frame.to !== this.#nodeId || typeof frame.queryId !== 'string') return
    const query = this.#queries.get(frame.queryId)
    if (query === undefined) return
    query.answers++
    if (typeof frame.count === 'number' && Number.isInteger(frame.count) && frame.count >= 0) query.total += frame.count
    this.#settleIfComplete(frame.queryId, query)
  }

  #warnFrame (): void {
    // another version of the plugin on the same prefix: say it once, not per message
    if (this.#hasWarnedFrame) return
    this.#hasWarnedFrame = true
    this.#log.warn({ channel: this.#channel }, 'fastify-realtime: ignoring messages in an unknown format on the Redis channel')
  }

  async acquireConnection (userId: string, connectionId: string, max: number): Promise<boolean> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') {
      // outage (already logged once): the handshake has checked the local limit; Redis learns of this lease when it is back
      this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
      this.#isDirty = true
      return true
    }
    try {
      let result = await pub.rtAcquire(this.#userKey(userId), this.#nodeConnsKey(), this.#nodeKey(), connectionId, this.#nodeId, max, this.#prefix, userId)
      if (result === -1) {
        // our liveness key expired (a stalled loop, a flushed Redis): re-register, then try again
        await this.#beat()
        result = await pub.rtAcquire(this.#userKey(userId), this.#nodeConnsKey(), this.#nodeKey(), connectionId, this.#nodeId, max, this.#prefix, userId)
      }
      if (result === 1) {
        this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
        return true
      }
      if (result === 0) return false
      throw new Error('this node is not registered in Redis')
    } catch (err) {
      // the lease may or may not be in Redis: keep it and let the next heartbeat reconcile
      this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
      this.#isDirty = true
      throw err
    }
  }

  /** Never rejects for a Redis outage: the next heartbeat after it reconciles Redis with this node's leases. */
  async releaseConnection (userId: string, connectionId: string): Promise<void> {
    /* c8 ignore next */ // already freed as abandoned: only a socket upgraded after handshakeGraceMs gets here
    if (!this.#leases.delete(connectionId)) return
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') {
      this.#isDirty = true
      return
    }
    try {
      await pub.rtRelease(this.#userKey(userId), this.#nodeConnsKey(), connectionId)
    } catch {
      this.#isDirty = true
    }
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
      client: () => this.#status === 'connected' ? this.#pub as PresenceClient | undefined : undefined,
      requestBeat: () => { this.#beat().catch(() => {}) }
    })
    return this.#presence
  }

  async clusterStats (): Promise<ClusterStats> {
    const pub = this.#pub
    if (pub === undefined || this.#status !== 'connected') throw new Error(`Redis adapter is ${this.#status}`)
    const [nodes, connections, users] = await pub.rtStats(this.#nodesKey, this.#prefix)
    return { nodes, connections, users }
  }

  async close (): Promise<void> {
    if (this.#isClosing) return
    this.#isClosing = true
    clearInterval(this.#timer)
    /* c8 ignore next */ // a heartbeat in flight at close is a matter of timing
    if (this.#beating !== undefined) await this.#beating.catch(() => {})
    const pub = this.#pub
    const sub = this.#sub
    if (pub !== undefined && pub.status === 'ready') {
      try {
        await pub.rtLeave(this.#nodeConnsKey(), this.#nodeKey(), this.#nodesKey, this.#nodeId, this.#prefix)
      } catch (err) {
        // the leases expire with the node key anyway
        this.#log.debug({ err }, 'fastify-realtime: could not remove this node\'s leases from Redis')
      }
    }
    this.#leases.clear()
    for (const query of this.#queries.values()) {
      clearTimeout(query.timer)
      query.reject(new Error('Redis adapter closed'))
    }
    this.#queries.clear()
    await Promise.all([quit(pub), quit(sub)])
    this.#setStatus('closed')
  }

  #onConnectionLost (err: Error | undefined): void {
    if (this.#isClosing) return
    if (err !== undefined) this.#lastError = err.message
    if (this.#status === 'connected') {
      this.#isDirty = true
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
    sub.subscribe(this.#channel)
      .then(() => this.#resubscribeChannels(sub))
      .then(() => this.#beat())
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

  /** Refreshes the liveness key, reaps dead nodes, frees abandoned handshake slots, re-registers leases if needed. */
  #beat (): Promise<void> {
    /* c8 ignore next */ // a handshake re-registering while the timer's beat runs: timing
    if (this.#beating !== undefined) return this.#beating
    this.#beating = this.#doBeat().finally(() => { this.#beating = undefined })
    return this.#beating
  }

  async #doBeat (): Promise<void> {
    const pub = this.#pub
    if (pub?.status !== 'ready') return
    this.#releaseAbandoned(Date.now())
    try {
      const [existed] = await pub.rtHeartbeat(this.#nodeKey(), this.#nodesKey, this.#nodeId, this.#options.leaseMs, this.#prefix)
      if (existed === 0 || this.#isDirty) {
        this.#isDirty = false
        const pairs: string[] = []
        for (const [connectionId, lease] of this.#leases) pairs.push(connectionId, lease.userId)
        await pub.rtResync(this.#nodeConnsKey(), this.#nodeId, this.#prefix, ...pairs)
      }
      await this.#presence?.afterBeat(existed === 1)
    } catch (err) {
      this.#isDirty = true
      if (this.#status === 'connecting') throw err
      this.#log.debug({ err }, 'fastify-realtime: Redis heartbeat failed')
    }
  }

  /** Slots claimed by handshakes that never became connections (a plain GET, a client gone before the upgrade). */
  #releaseAbandoned (now: number): void {
    const context = this.#context
    for (const [connectionId, lease] of this.#leases) {
      if (now - lease.acquiredAt > this.#options.handshakeGraceMs && !context.hasConnection(connectionId)) {
        void this.releaseConnection(lease.userId, connectionId)
      }
    }
  }

  #setStatus (status: RedisAdapterStatus): void {
    this.#status = status
    this.emit('status', status)
  }

  #nodeKey (): string {
    return `${this.#prefix}node:${this.#nodeId}`
  }

  #nodeConnsKey (): string {
    return `${this.#prefix}node-conns:${this.#nodeId}`
  }

  #userKey (userId: string): string {
    return `${this.#prefix}user:${userId}`
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

function loadIORedis (): RedisConstructor {
  try {
    // loaded here, not at the top: hosts without Redis never need ioredis installed
    return (require('ioredis') as { Redis: RedisConstructor }).Redis
  } catch (err) {
    /* c8 ignore next */ // only a missing ioredis is ours to explain
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    throw new AdapterDependencyMissingError('redisAdapter()', 'ioredis@5')
  }
}

function resolveRedisOptions (input: Partial<RedisAdapterDataOptions>): RedisAdapterDataOptions & { heartbeatMs: number } {
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

async function quit (connection: Redis | undefined): Promise<void> {
  if (connection === undefined) return
  if (connection.status === 'ready') {
    try {
      await connection.quit()
      return
    } catch {}
  }
  connection.disconnect()
}
