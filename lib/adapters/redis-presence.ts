import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { PresenceBackend, PresenceBackendContext, PresenceMember } from '../presence/backend.js'
import { AdapterNotConnectedError } from '../errors.js'
import { PRESENCE_EPOCH, PRESENCE_JOIN, PRESENCE_LEAVE, PRESENCE_MEMBERS, PRESENCE_RESYNC, PRESENCE_SWEEP } from './redis-presence-scripts.js'

type Reply = Array<number | string>

interface PresenceCommands {
  rtPresenceJoin (nodeKey: string, index: string, pending: string, epochKey: string, ...argv: Array<string | number>): Promise<Reply>
  rtPresenceLeave (nodeKey: string, index: string, pending: string, epochKey: string, ...argv: Array<string | number>): Promise<Reply>
  rtPresenceSweep (pending: string, nodes: string, ...argv: Array<string | number>): Promise<Reply>
  rtPresenceResync (nodeKey: string, index: string, pending: string, epochKey: string, ...argv: Array<string | number>): Promise<Reply>
  rtPresenceEpoch (epochKey: string, candidate: string): Promise<string>
  rtPresenceMembers (online: string, ...argv: Array<string | number>): Promise<Reply>
}
export type PresenceClient = Redis & PresenceCommands

/** What the Redis adapter lends its presence backend. */
export interface RedisPresenceLink {
  readonly nodeId: string
  /** The adapter's key prefix, with its trailing colon. */
  readonly prefix: string
  readonly leaseMs: number
  readonly heartbeatMs: number
  /** How often this node sweeps (ends graces, reaps dead nodes). */
  readonly sweepMs: number
  /** The adapter's command connection while it is connected (announcements need the channel too), else undefined. */
  client (): PresenceClient | undefined
  /** Asks the adapter for a heartbeat now (it re-registers this node and calls afterBeat). */
  requestBeat (): void
}

interface Held {
  readonly scope: string
  readonly connectionId: string
  readonly userId: string
  /** Redis has acknowledged it: the user was known online through it. */
  isConfirmed: boolean
}

/** Graces ended per sweep script: a bound on the time Redis spends in one. */
const SWEEP_BATCH = 1000

/**
 * Presence shared by the nodes of a Redis cluster. Every change is decided
 * by a Lua script, and only the node whose script decided it is told, so a
 * change is announced once. This node remembers what it holds, so that after
 * an outage (or when its lease lapsed) it puts Redis right by itself.
 */
export class RedisPresence implements PresenceBackend {
  readonly #context: PresenceBackendContext
  readonly #link: RedisPresenceLink
  // set by start(): the node id is the adapter's, known once it started
  #keys!: { nodeKey: string, index: string, pending: string, epoch: string, nodes: string }
  /** "<scope>\n<connectionId>" -> what this node holds. */
  readonly #held = new Map<string, Held>()
  /** "<scope>\n<userId>" of confirmed connections that left while Redis could not be told. */
  readonly #unsentLeaves = new Set<string>()
  #epoch = ''
  #isDirty = false
  #isClosed = false
  #interval: NodeJS.Timeout | undefined
  /** One timer per grace started here: they share one timer list in Node (same duration), and fire in order. */
  readonly #graceTimers = new Set<NodeJS.Timeout>()
  #sweeping: Promise<void> | undefined
  /** A sweep was asked for while one ran: run once more after it (a burst of graces costs two scripts). */
  #isSweepWanted = false
  #resyncing: Promise<void> | undefined

  constructor (context: PresenceBackendContext, link: RedisPresenceLink) {
    this.#context = context
    this.#link = link
  }

  /** Registers the scripts on the adapter's connection; the adapter is started. */
  async start (): Promise<void> {
    const client = this.#link.client()
    /* c8 ignore next */ // the plugin starts presence right after the adapter connected
    if (client === undefined) throw new AdapterNotConnectedError('the Redis adapter is not connected')
    const p = this.#link.prefix
    this.#keys = {
      nodeKey: `${p}node:${this.#link.nodeId}`,
      index: `${p}presence-node:${this.#link.nodeId}`,
      pending: `${p}presence:pending`,
      epoch: `${p}presence:epoch`,
      nodes: `${p}presence:nodes`
    }
    defineCommands(client)
    this.#epoch = await client.rtPresenceEpoch(this.#keys.epoch, randomUUID())
    this.#interval = setInterval(() => { void this.#sweep() }, this.#link.sweepMs)
    this.#interval.unref()
  }

  async join (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    const held: Held[] = scopes.map(scope => ({ scope, connectionId, userId, isConfirmed: false }))
    for (const entry of held) this.#held.set(`${entry.scope}\n${connectionId}`, entry)
    const client = this.#link.client()
    if (client === undefined) {
      this.#isDirty = true
      return
    }
    let reply: Reply
    try {
      reply = await client.rtPresenceJoin(this.#keys.nodeKey, this.#keys.index, this.#keys.pending, this.#keys.epoch,
        this.#link.prefix, this.#link.nodeId, this.#epoch, userId, connectionId, ...scopes)
    } catch (err) {
      this.#context.log.debug({ err }, 'fastify-realtime: presence join not acknowledged by Redis; resyncing at the next heartbeat')
      this.#isDirty = true
      return
    }
    const at = reply[0] as number
    if (at < 0) {
      // not registered (lease lapsed) or Redis lost its data: the heartbeat re-registers everything
      this.#isDirty = true
      this.#link.requestBeat()
      return
    }
    for (const entry of held) entry.isConfirmed = true
    for (const scope of reply.slice(1) as string[]) this.#context.changed({ scope, userId, status: 'online', at })
  }

  async leave (userId: string, connectionId: string, scopes: readonly string[]): Promise<void> {
    const confirmed: string[] = []
    for (const scope of scopes) {
      const field = `${scope}\n${connectionId}`
      if (this.#held.get(field)?.isConfirmed === true) confirmed.push(`${scope}\n${userId}`)
      this.#held.delete(field)
    }
    const unsent = (): void => {
      this.#isDirty = true
      for (const member of confirmed) this.#unsentLeaves.add(member)
    }
    const client = this.#link.client()
    if (client === undefined) {
      unsent()
      return
    }
    let reply: Reply
    try {
      reply = await client.rtPresenceLeave(this.#keys.nodeKey, this.#keys.index, this.#keys.pending, this.#keys.epoch,
        this.#link.prefix, this.#link.nodeId, this.#epoch, userId, connectionId, this.#context.offlineGraceMs, ...scopes)
    } catch (err) {
      this.#context.log.debug({ err }, 'fastify-realtime: presence leave not acknowledged by Redis; resyncing at the next heartbeat')
      unsent()
      return
    }
    const at = reply[0] as number
    if (at < 0) {
      unsent()
      this.#link.requestBeat()
      return
    }
    if (reply[1] === 1) this.#sweepAfter(this.#context.offlineGraceMs)
    for (const scope of reply.slice(2) as string[]) this.#context.changed({ scope, userId, status: 'offline', at })
  }

  /**
   * Called by the adapter after each heartbeat: when its lease had lapsed or
   * something could not be told to Redis, Redis is made to hold what this node holds.
   */
  async afterBeat (leaseExisted: boolean): Promise<void> {
    // before start() there is nothing held to put right
    if (this.#isClosed || this.#epoch === '') return
    if (!leaseExisted) this.#isDirty = true
    if (!this.#isDirty || this.#link.client() === undefined) return
    this.#resyncing ??= this.#resync().finally(() => { this.#resyncing = undefined })
    await this.#resyncing
  }

  async #resync (): Promise<void> {
    const client = this.#link.client()
    /* c8 ignore next */ // checked by afterBeat just before
    if (client === undefined) return
    this.#isDirty = false
    const held = [...this.#held.values()]
    const leaves = [...this.#unsentLeaves]
    const triples: string[] = []
    const known = new Set(leaves)
    for (const entry of held) {
      triples.push(entry.scope, entry.connectionId, entry.userId)
      if (entry.isConfirmed) known.add(`${entry.scope}\n${entry.userId}`)
    }
    let reply: Reply
    try {
      reply = await client.rtPresenceResync(this.#keys.nodeKey, this.#keys.index, this.#keys.pending, this.#keys.epoch,
        this.#link.prefix, this.#link.nodeId, this.#context.offlineGraceMs, this.#epoch, randomUUID(), held.length, ...triples, ...known)
    /* c8 ignore start */ // Redis refusing the resync right after it took the heartbeat this follows: timing, not provoked by the tests
    } catch (err) {
      this.#isDirty = true
      this.#context.log.debug({ err }, 'fastify-realtime: presence resync failed; trying again at the next heartbeat')
      return
    }
    /* c8 ignore stop */
    this.#epoch = reply[1] as string
    for (const entry of held) entry.isConfirmed = true
    for (const member of leaves) this.#unsentLeaves.delete(member)
    this.#announce(reply, 2, 'online')
    // graces may have started (users who left during the outage)
    this.#sweepAfter(this.#context.offlineGraceMs)
  }

  /** Ends the graces that are over, and reaps dead nodes. One at a time per node. */
  #sweep (): Promise<void> {
    if (this.#sweeping !== undefined) {
      this.#isSweepWanted = true
      return this.#sweeping
    }
    this.#sweeping = this.#doSweep().finally(() => {
      this.#sweeping = undefined
      if (this.#isSweepWanted) {
        this.#isSweepWanted = false
        void this.#sweep()
      }
    })
    return this.#sweeping
  }

  async #doSweep (): Promise<void> {
    for (;;) {
      const client = this.#link.client()
      /* c8 ignore next */ // the adapter closed, or its link dropped, between two rounds of one sweep: a race no test can order
      if (client === undefined || this.#isClosed) return
      // a dead node has been silent for at least leaseMs - heartbeatMs: that much of its users' grace is over
      const reapGraceMs = Math.max(0, this.#context.offlineGraceMs - (this.#link.leaseMs - this.#link.heartbeatMs))
      let reply: Reply
      try {
        reply = await client.rtPresenceSweep(this.#keys.pending, this.#keys.nodes, this.#link.prefix, reapGraceMs, SWEEP_BATCH)
      } catch (err) {
        this.#context.log.debug({ err }, 'fastify-realtime: presence sweep failed')
        return
      }
      this.#announce(reply, 1, 'offline')
      if ((reply.length - 1) / 2 < SWEEP_BATCH) return
    }
  }

  #announce (reply: Reply, from: number, status: 'online' | 'offline'): void {
    const at = reply[0] as number
    for (let i = from; i + 1 < reply.length; i += 2) {
      this.#context.changed({ scope: reply[i] as string, userId: reply[i + 1] as string, status, at })
    }
  }

  /** Sweeps just after a grace ends, rather than at the next periodic sweep. */
  #sweepAfter (delayMs: number): void {
    /* c8 ignore next */ // a leave answered after close(): the grace's sweep is not scheduled on a closed adapter
    if (this.#isClosed) return
    // a few ms late: the sweep must find the grace over by Redis's clock too
    const timer = setTimeout(() => {
      this.#graceTimers.delete(timer)
      void this.#sweep()
    }, delayMs + 5)
    timer.unref()
    this.#graceTimers.add(timer)
  }

  async isPresent (scope: string, userId: string): Promise<boolean> {
    return await this.#require().hexists(this.#online(scope), userId) === 1
  }

  async presentAmong (scope: string, userIds: readonly string[]): Promise<string[]> {
    const unique = [...new Set(userIds)]
    const found = await this.#require().hmget(this.#online(scope), ...unique)
    return unique.filter((_, i) => found[i] !== null)
  }

  async count (scope: string): Promise<number> {
    return this.#require().hlen(this.#online(scope))
  }

  async members (scope: string, limit: number): Promise<{ total: number, members: PresenceMember[] }> {
    const reply = await this.#require().rtPresenceMembers(this.#online(scope), this.#link.prefix, scope, limit)
    const members: PresenceMember[] = []
    for (let i = 1; i + 2 < reply.length; i += 3) {
      members.push({ userId: reply[i] as string, joinedAt: reply[i + 1] as number, connections: reply[i + 2] as number })
    }
    return { total: reply[0] as number, members }
  }

  #require (): PresenceClient {
    const client = this.#link.client()
    if (client === undefined) throw new AdapterNotConnectedError('Redis adapter is not connected')
    return client
  }

  #online (scope: string): string {
    return `${this.#link.prefix}presence:${scope}:online`
  }

  async close (): Promise<void> {
    this.#isClosed = true
    clearInterval(this.#interval)
    for (const timer of this.#graceTimers) clearTimeout(timer)
    this.#graceTimers.clear()
    await Promise.all([this.#sweeping, this.#resyncing])
  }
}

function defineCommands (client: Redis): void {
  client.defineCommand('rtPresenceJoin', { numberOfKeys: 4, lua: PRESENCE_JOIN })
  client.defineCommand('rtPresenceLeave', { numberOfKeys: 4, lua: PRESENCE_LEAVE })
  client.defineCommand('rtPresenceSweep', { numberOfKeys: 2, lua: PRESENCE_SWEEP })
  client.defineCommand('rtPresenceResync', { numberOfKeys: 4, lua: PRESENCE_RESYNC })
  client.defineCommand('rtPresenceEpoch', { numberOfKeys: 1, lua: PRESENCE_EPOCH })
  client.defineCommand('rtPresenceMembers', { numberOfKeys: 1, lua: PRESENCE_MEMBERS })
}
