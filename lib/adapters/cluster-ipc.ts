import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyBaseLogger } from 'fastify'
import type { Adapter, AdapterContext, AdapterHealth, ClusterMessage, ClusterStats } from './adapter.js'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'
import { AdapterUnavailableError, InvalidOptionsError } from '../errors.js'
import { IPC_TAG, isTagged, type HubRequest, type PrimaryFrame, type WorkerFrame } from '../cluster/ipc-protocol.js'
import { IpcPresence } from './cluster-ipc-presence.js'
import { IpcHistory } from './cluster-ipc-history.js'

export const ClusterIpcAdapterDataOptionsSchema = Type.Object({
  requestTimeoutMs: Type.Integer({ minimum: 10, default: 5000, description: 'a request to the primary (a slot, a count, presence, history) not answered in time rejects' }),
  handshakeGraceMs: Type.Integer({ minimum: 100, default: 10000, description: 'a slot claimed by a handshake that never became a connection is freed after this' })
}, { additionalProperties: false })
export type ClusterIpcAdapterDataOptions = Static<typeof ClusterIpcAdapterDataOptionsSchema>

/** The worker's end of the IPC channel to the primary: `process` in a node:cluster worker. */
export interface IpcChannel {
  send? (message: WorkerFrame, callback: (error: Error | null) => void): boolean
  readonly connected?: boolean
  on (event: 'message', listener: (message: unknown) => void): unknown
  on (event: 'disconnect', listener: () => void): unknown
  off (event: 'message', listener: (message: unknown) => void): unknown
  off (event: 'disconnect', listener: () => void): unknown
}

export interface ClusterIpcAdapterOptions extends Partial<ClusterIpcAdapterDataOptions> {
  /** `process` by default; tests give their own. */
  ipc?: IpcChannel
}

interface Pending {
  resolve (value: unknown): void
  reject (err: Error): void
  timer: NodeJS.Timeout
}

/**
 * The workers of one machine as one server, without Redis: each node:cluster
 * worker's adapter talks to the primary (clusterPrimary(), in
 * lib/cluster/primary.ts) over the IPC channel node:cluster already has. The
 * primary relays the messages and holds what the workers share: connection
 * slots, which workers need a channel's messages, presence and history.
 */
export class ClusterIpcAdapter implements Adapter {
  readonly #options: ClusterIpcAdapterDataOptions
  readonly #channel: IpcChannel
  readonly #pending = new Map<number, Pending>()
  /** Slots this worker claimed: connectionId -> user and when, to free those of handshakes that never finished. */
  readonly #slots = new Map<string, { userId: string, acquiredAt: number }>()
  #nextId = 0
  #context: AdapterContext | undefined
  #log: FastifyBaseLogger | undefined
  #presence: IpcPresence | undefined
  #sweep: NodeJS.Timeout | undefined
  #isStarted = false
  #isClosed = false
  #lastError: string | undefined
  readonly history: IpcHistory
  readonly #onFrame = (frame: unknown): void => this.#frame(frame)
  readonly #onDisconnect = (): void => {
    this.#lastError = 'the IPC channel to the cluster primary closed'
    this.#rejectPending(this.#lastError)
  }

  constructor (options: ClusterIpcAdapterOptions = {}) {
    const { ipc, ...data } = options
    this.#options = resolveClusterIpcOptions(data)
    this.#channel = ipc ?? (process as unknown as IpcChannel)
    this.history = new IpcHistory((request) => this.#request(request))
  }

  async start (context: AdapterContext): Promise<void> {
    this.#context = context
    this.#log = context.log.child({ adapter: 'cluster-ipc' })
    if (this.#channel.send === undefined) {
      throw new AdapterUnavailableError('cluster IPC: this process has no IPC channel: run it as a node:cluster worker, with clusterPrimary() in the primary')
    }
    this.#channel.on('message', this.#onFrame)
    this.#channel.on('disconnect', this.#onDisconnect)
    const hello: HubRequest = { op: 'hello', nodeId: context.nodeId }
    if (this.#presence !== undefined) hello.offlineGraceMs = this.#presence.offlineGraceMs
    try {
      await this.#request(hello)
    } catch (err) {
      this.#detach()
      throw new AdapterUnavailableError(`cluster IPC: ${(err as Error).message} (is clusterPrimary() called in the primary?)`)
    }
    this.#isStarted = true
    this.#sweep = setInterval(() => this.#releaseAbandoned(Date.now()), this.#options.handshakeGraceMs)
    this.#sweep.unref()
  }

  async publish (message: ClusterMessage): Promise<void> {
    await this.#send({ rt: IPC_TAG, t: 'publish', message: message.kind === 'deliver' ? { ...message, publishedAt: Date.now() } : message })
  }

  async acquireConnection (userId: string, connectionId: string, max: number): Promise<boolean> {
    const acquired = await this.#request<boolean>({ op: 'acquire', userId, connectionId, max })
    if (acquired) this.#slots.set(connectionId, { userId, acquiredAt: Date.now() })
    return acquired
  }

  async releaseConnection (userId: string, connectionId: string): Promise<void> {
    if (!this.#slots.delete(connectionId)) return
    await this.#request({ op: 'release', userId, connectionId })
  }

  clusterStats (): Promise<ClusterStats> {
    return this.#request({ op: 'stats' })
  }

  async subscribeChannel (channel: string): Promise<void> {
    await this.#request({ op: 'subscribe', channel })
  }

  async unsubscribeChannel (channel: string): Promise<void> {
    await this.#request({ op: 'unsubscribe', channel })
  }

  async clusterSubscribersOf (channel: string): Promise<number> {
    const others = await this.#request<number>({ op: 'count', channel })
    return others + (this.#context as AdapterContext).localChannelSubscribers(channel)
  }

  /** Presence in the primary, shared by every worker. */
  presence (context: PresenceBackendContext): PresenceBackend {
    this.#presence = new IpcPresence(context, (request) => this.#request(request))
    return this.#presence
  }

  health (): AdapterHealth {
    const connected = this.#isStarted && !this.#isClosed && this.#channel.connected !== false
    if (connected) return { connected }
    return { connected, lastError: this.#lastError ?? (this.#isClosed ? 'cluster IPC adapter is closed' : 'cluster IPC adapter is not started') }
  }

  /** Tells the primary this worker is leaving, so its slots, channels and presence are freed now rather than at its exit. */
  async close (): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    clearInterval(this.#sweep)
    if (this.#isStarted && this.#channel.connected !== false) {
      await this.#request({ op: 'bye' }).catch((err: unknown) => {
        this.#log?.debug({ err }, 'fastify-realtime: the primary did not acknowledge this worker leaving; it frees its state at the exit')
      })
    }
    this.#slots.clear()
    this.#detach()
    this.#rejectPending('cluster IPC adapter closed')
  }

  #detach (): void {
    this.#channel.off('message', this.#onFrame)
    this.#channel.off('disconnect', this.#onDisconnect)
  }

  #send (frame: WorkerFrame): Promise<void> {
    return new Promise((resolve, reject) => {
      const send = this.#channel.send
      if (send === undefined || this.#channel.connected === false) {
        reject(new Error('the IPC channel to the cluster primary is closed'))
        return
      }
      send.call(this.#channel, frame, (err) => err === null ? resolve() : reject(err))
    })
  }

  #request<T> (request: HubRequest): Promise<T> {
    const id = ++this.#nextId
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`the cluster primary did not answer ${request.op} within ${this.#options.requestTimeoutMs} ms`))
      }, this.#options.requestTimeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer })
      this.#send({ rt: IPC_TAG, t: 'request', id, request }).catch((err: Error) => {
        clearTimeout(timer)
        this.#pending.delete(id)
        reject(err)
      })
    })
  }

  #frame (frame: unknown): void {
    if (!isTagged(frame)) return
    const ours = frame as PrimaryFrame
    if (ours.t === 'reply') {
      const pending = this.#pending.get(ours.id)
      if (pending === undefined) return
      this.#pending.delete(ours.id)
      clearTimeout(pending.timer)
      if ('error' in ours) pending.reject(new Error(ours.error))
      else pending.resolve(ours.value)
      return
    }
    const context = this.#context as AdapterContext
    try {
      if (ours.t === 'message') context.receive(ours.message)
      else if (ours.t === 'presence') this.#presence?.changed(ours.change)
      else if (ours.t === 'countQuery') {
        this.#send({ rt: IPC_TAG, t: 'counted', queryId: ours.queryId, count: context.localChannelSubscribers(ours.channel) }).catch(() => {})
      }
    } catch (err) {
      this.#log?.error({ err }, 'fastify-realtime: could not apply a message from another worker')
    }
  }

  #rejectPending (reason: string): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(new Error(reason))
    }
    this.#pending.clear()
  }

  /** Slots claimed by handshakes that never became connections (a client gone before the upgrade). */
  #releaseAbandoned (now: number): void {
    const context = this.#context as AdapterContext
    for (const [connectionId, slot] of this.#slots) {
      if (now - slot.acquiredAt > this.#options.handshakeGraceMs && !context.hasConnection(connectionId)) {
        this.releaseConnection(slot.userId, connectionId).catch(() => {})
      }
    }
  }
}

/**
 * An adapter for `adapter:` in each node:cluster worker: the workers of one
 * machine share connection limits, channels, presence and history through
 * the primary, which calls clusterPrimary(). No Redis; one machine only.
 */
export function clusterIpcAdapter (options: ClusterIpcAdapterOptions = {}): ClusterIpcAdapter {
  return new ClusterIpcAdapter(options)
}

function resolveClusterIpcOptions (input: Partial<ClusterIpcAdapterDataOptions>): ClusterIpcAdapterDataOptions {
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) if (value !== undefined) data[key] = value
  Value.Default(ClusterIpcAdapterDataOptionsSchema, data)
  const problems: string[] = []
  for (const error of Value.Errors(ClusterIpcAdapterDataOptionsSchema, data)) problems.push(`${error.path.slice(1)} ${error.message}`)
  if (problems.length > 0) throw new InvalidOptionsError(`clusterIpcAdapter: ${problems.join('; ')}`)
  return Object.freeze(data as ClusterIpcAdapterDataOptions)
}
