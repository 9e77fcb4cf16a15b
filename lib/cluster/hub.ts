import { UserSlots } from '../adapters/user-slots.js'
import type { FastifyBaseLogger } from 'fastify'
import type { ClusterMessage, ClusterStats } from '../adapters/adapter.js'
import type { PresenceChange } from '../presence/backend.js'
import type { HistoryOptions } from '../history/options.js'
import type { StreamAppend } from '../history/history.js'
import type { StreamPosition } from '../protocol/server-messages.js'
import { MemoryHistory } from '../history/memory.js'
import { IPC_TAG, isTagged, type HubRequest, type PrimaryFrame, type WorkerFrame } from './ipc-protocol.js'
import { HubPresence, type PresenceWorker } from './hub-presence.js'

export interface ClusterHubOptions {
  /** A channel count not answered by every worker in time fails (ms, default 5000). */
  queryTimeoutMs?: number
  /** How often expired history is dropped (ms, default 1000). */
  historySweepMs?: number
  /** For the hub's own warnings; silent by default. */
  log?: FastifyBaseLogger
}

/** One worker as the hub sees it: what it holds, so all of it is freed when it goes. */
class HubWorker implements PresenceWorker {
  readonly key: string
  readonly send: (frame: PrimaryFrame) => void
  /** Set by its hello: a worker is relayed to only once its adapter started. */
  nodeId: string | undefined
  isAlive = true
  readonly channels = new Set<string>()
  /** connectionId -> userId: its connection slots. */
  readonly slots = new Map<string, string>()
  /** connectionId -> the presence scopes it is in. */
  readonly scopes = new Map<string, { userId: string, scopes: Set<string> }>()

  constructor (key: string, send: (frame: PrimaryFrame) => void) {
    this.key = key
    this.send = send
  }

  announce (change: PresenceChange): void {
    this.send({ rt: IPC_TAG, t: 'presence', change })
  }
}

interface CountQuery {
  total: number
  readonly waiting: Set<HubWorker>
  readonly done: (total: number | Error) => void
  readonly timer: NodeJS.Timeout
}

/* c8 ignore start */ // never called: the hub's MemoryPresence logs nothing; a logger only because its context has one
const noop = (): void => {}
const silentLog: FastifyBaseLogger = { child: () => silentLog, fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop, silent: noop, level: 'silent' }
/* c8 ignore stop */

/**
 * The state a machine's workers share, held in the cluster primary, and the
 * relay between them: per-user connection slots, which workers have
 * connections in which channel, presence and history. It knows nothing of
 * node:cluster (clusterPrimary() wires it): a worker is a key and a send
 * function, and every frame it sends is handed to receive().
 */
export class ClusterHub {
  readonly #workers = new Map<string, HubWorker>()
  /** userId -> connection ids holding a slot, on every worker. */
  readonly #slots = new UserSlots()
  /** channel -> the workers with connections in it. */
  readonly #channels = new Map<string, Set<HubWorker>>()
  readonly #queries = new Map<number, CountQuery>()
  readonly #history = new MemoryHistory()
  readonly #sweep: NodeJS.Timeout
  readonly #queryTimeoutMs: number
  readonly #log: FastifyBaseLogger
  #presence: HubPresence | undefined
  #nextQuery = 0

  constructor (options: ClusterHubOptions = {}) {
    this.#queryTimeoutMs = options.queryTimeoutMs ?? 5000
    this.#log = options.log ?? silentLog
    this.#sweep = setInterval(() => this.#history.sweep(Date.now()), options.historySweepMs ?? 1000)
    this.#sweep.unref()
  }

  /** A worker joined (forked): its frames may come from now on. */
  add (key: string, send: (frame: PrimaryFrame) => void): void {
    if (!this.#workers.has(key)) this.#workers.set(key, new HubWorker(key, send))
  }

  /** A worker is gone (exited, or its adapter closed): its slots, channels and presence are freed at once. */
  remove (key: string): void {
    const worker = this.#workers.get(key)
    if (worker === undefined) return
    this.#workers.delete(key)
    worker.isAlive = false
    for (const [connectionId, userId] of worker.slots) this.#slots.release(userId, connectionId)
    worker.slots.clear()
    for (const channel of worker.channels) this.#unsubscribe(worker, channel)
    // its users leave; a living worker announces whatever that decides
    for (const [connectionId, { userId, scopes }] of worker.scopes) this.#presence?.leave(undefined, userId, connectionId, [...scopes])
    worker.scopes.clear()
    for (const [queryId, query] of this.#queries) {
      if (query.waiting.delete(worker)) this.#settleIfComplete(queryId, query)
    }
  }

  /** A frame from worker `key`; anything that is not one of ours is left alone. */
  receive (key: string, frame: unknown): void {
    if (!isTagged(frame)) return
    const worker = this.#workers.get(key)
    if (worker === undefined) return
    const ours = frame as WorkerFrame
    if (ours.t === 'publish') this.#relay(worker, ours.message, false)
    else if (ours.t === 'request') this.#answer(worker, ours.id, ours.request)
    else if (ours.t === 'counted') this.#counted(worker, ours.queryId, ours.count)
  }

  /** Workers whose adapter started, connections and users holding slots. */
  stats (): ClusterStats {
    let nodes = 0
    for (const worker of this.#workers.values()) if (worker.nodeId !== undefined) nodes++
    return { nodes, ...this.#slots.counts() }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweep)
    for (const query of this.#queries.values()) {
      clearTimeout(query.timer)
      query.done(new Error('the cluster primary closed'))
    }
    this.#queries.clear()
    await this.#presence?.close()
  }

  /** To the workers that need it: a channel's to those with connections in it, the rest to every started worker. */
  #relay (from: HubWorker, message: ClusterMessage, includeSender: boolean): void {
    const frame: PrimaryFrame = { rt: IPC_TAG, t: 'message', message }
    const recipients = message.kind === 'deliver' && message.target.kind === 'channel'
      ? this.#channels.get(message.target.channel) ?? []
      : this.#workers.values()
    for (const worker of recipients) {
      if ((worker !== from || includeSender) && worker.nodeId !== undefined) worker.send(frame)
    }
  }

  #answer (worker: HubWorker, id: number, request: HubRequest): void {
    const reply = (value: unknown): void => worker.send({ rt: IPC_TAG, t: 'reply', id, value })
    const fail = (message: string): void => worker.send({ rt: IPC_TAG, t: 'reply', id, error: message })
    switch (request.op) {
      case 'hello': {
        const problem = this.#hello(worker, request.nodeId, request.offlineGraceMs)
        if (problem === undefined) reply(true)
        else fail(problem)
        return
      }
      case 'bye':
        this.remove(worker.key)
        reply(true)
        return
      case 'acquire':
        reply(this.#acquire(worker, request.userId, request.connectionId, request.max))
        return
      case 'release': {
        // the user is the one the slot was claimed for
        const userId = worker.slots.get(request.connectionId)
        if (userId !== undefined) {
          worker.slots.delete(request.connectionId)
          this.#slots.release(userId, request.connectionId)
        }
        reply(true)
        return
      }
      case 'stats':
        reply(this.stats())
        return
      case 'subscribe':
        this.#subscribe(worker, request.channel)
        reply(true)
        return
      case 'unsubscribe':
        this.#unsubscribe(worker, request.channel)
        reply(true)
        return
      case 'count':
        this.#count(worker, request.channel, (total) => total instanceof Error ? fail(total.message) : reply(total))
        return
      case 'presence':
        this.#presenceCall(worker, request).then(reply, (err: Error) => fail(err.message))
        return
      case 'history':
        this.#historyCall(worker, request).then(reply, (err: Error) => fail(err.message))
        return
      default:
        fail(`unknown request ${String((request as { op?: unknown }).op)}`)
    }
  }

  #hello (worker: HubWorker, nodeId: string, offlineGraceMs: number | undefined): string | undefined {
    if (offlineGraceMs !== undefined) {
      if (this.#presence === undefined) {
        this.#presence = new HubPresence(offlineGraceMs, this.#log, () => this.#anyStartedWorker())
      } else if (this.#presence.offlineGraceMs !== offlineGraceMs) {
        return `this worker's presence offlineGraceMs (${offlineGraceMs}) differs from the other workers' (${this.#presence.offlineGraceMs}): give every worker the same options`
      }
    }
    worker.nodeId = nodeId
    return undefined
  }

  #anyStartedWorker (): HubWorker | undefined {
    for (const worker of this.#workers.values()) if (worker.nodeId !== undefined) return worker
    return undefined
  }

  #acquire (worker: HubWorker, userId: string, connectionId: string, max: number): boolean {
    if (!this.#slots.acquire(userId, connectionId, max)) return false
    worker.slots.set(connectionId, userId)
    return true
  }

  #subscribe (worker: HubWorker, channel: string): void {
    let workers = this.#channels.get(channel)
    if (workers === undefined) {
      workers = new Set()
      this.#channels.set(channel, workers)
    }
    workers.add(worker)
    worker.channels.add(channel)
  }

  #unsubscribe (worker: HubWorker, channel: string): void {
    worker.channels.delete(channel)
    const workers = this.#channels.get(channel)
    if (workers === undefined) return
    workers.delete(worker)
    if (workers.size === 0) this.#channels.delete(channel)
  }

  /** Asks the other workers in the channel for their counts (the asking worker adds its own). */
  #count (from: HubWorker, channel: string, done: (total: number | Error) => void): void {
    const waiting = new Set<HubWorker>()
    for (const worker of this.#channels.get(channel) ?? []) if (worker !== from) waiting.add(worker)
    if (waiting.size === 0) {
      done(0)
      return
    }
    const queryId = ++this.#nextQuery
    const timer = setTimeout(() => {
      this.#queries.delete(queryId)
      done(new Error(`not every worker answered within ${this.#queryTimeoutMs} ms`))
    }, this.#queryTimeoutMs)
    timer.unref()
    this.#queries.set(queryId, { total: 0, waiting, done, timer })
    for (const worker of waiting) worker.send({ rt: IPC_TAG, t: 'countQuery', queryId, channel })
  }

  #counted (worker: HubWorker, queryId: number, count: number): void {
    const query = this.#queries.get(queryId)
    if (query === undefined || !query.waiting.delete(worker)) return
    query.total += count
    this.#settleIfComplete(queryId, query)
  }

  #settleIfComplete (queryId: number, query: CountQuery): void {
    if (query.waiting.size > 0) return
    clearTimeout(query.timer)
    this.#queries.delete(queryId)
    query.done(query.total)
  }

  async #presenceCall (worker: HubWorker, request: Extract<HubRequest, { op: 'presence' }>): Promise<unknown> {
    const presence = this.#presence
    if (presence === undefined) throw new Error('presence is off: no worker started with it')
    switch (request.call) {
      case 'join': {
        let entry = worker.scopes.get(request.connectionId)
        if (entry === undefined) {
          entry = { userId: request.userId, scopes: new Set() }
          worker.scopes.set(request.connectionId, entry)
        }
        for (const scope of request.scopes) entry.scopes.add(scope)
        presence.join(worker, request.userId, request.connectionId, request.scopes)
        return true
      }
      case 'leave': {
        const entry = worker.scopes.get(request.connectionId)
        if (entry !== undefined) {
          for (const scope of request.scopes) entry.scopes.delete(scope)
          if (entry.scopes.size === 0) worker.scopes.delete(request.connectionId)
        }
        presence.leave(worker, request.userId, request.connectionId, request.scopes)
        return true
      }
      case 'isPresent': return presence.isPresent(request.scope, request.userId)
      case 'count': return presence.count(request.scope)
      case 'presentAmong': return presence.presentAmong(request.scope, request.userIds)
      case 'members': return presence.members(request.scope, request.limit)
    }
  }

  /**
   * History in the primary's memory: an append gets its offsets here, then
   * goes to every worker that needs it, the appending one too, so a stream's
   * messages reach each worker in offset order.
   */
  async #historyCall (worker: HubWorker, request: Extract<HubRequest, { op: 'history' }>): Promise<unknown> {
    if (request.call === 'append') {
      const append = request.message as StreamAppend
      const seq = this.#history.appendNow(append)
      this.#relay(worker, { kind: 'deliver', target: append.target, payload: append.payload, publishedAt: Date.now(), seq }, true)
      return seq
    }
    return this.#history.read(request.stream, request.history as HistoryOptions, request.since as StreamPosition | undefined, request.limit)
  }
}
