import { AdapterProtocolError } from '../errors.js'
import type { Publisher } from './redis-connection.js'

/** What the lease keeper needs from its adapter. */
export interface RedisLeasesLink {
  /** Known once the adapter started. */
  readonly nodeId: string
  /** The adapter's key prefix, with its trailing colon. */
  readonly prefix: string
  readonly leaseMs: number
  readonly heartbeatMs: number
  readonly handshakeGraceMs: number
  /** The publisher connection while the adapter is connected, else undefined. */
  connected (): Publisher | undefined
  /** The publisher connection whenever it is up (a heartbeat also runs while the adapter is starting or reconnecting). */
  ready (): Publisher | undefined
  /** After each heartbeat (presence's): whether this node's key was still there. */
  afterBeat (existed: boolean): Promise<void> | undefined
  /** A heartbeat failed: rethrow it (while starting) or log it. */
  onBeatFailed (err: unknown): void
  /** Whether this node holds the connection (the node's own registry). */
  hasConnection (connectionId: string): boolean
}

interface Lease {
  userId: string
  acquiredAt: number
}

/**
 * The leases in Redis (lib/adapters/redis-scripts.ts): this node's liveness
 * key, refreshed every heartbeat, and the connection slots it holds, which
 * count across the cluster only while that key lives. This node remembers
 * its slots, so after an outage (or when its key lapsed and another node
 * reaped it) it puts Redis right by itself.
 */
export class RedisLeases {
  readonly #link: RedisLeasesLink
  readonly #leases = new Map<string, Lease>()
  readonly nodesKey: string
  /** Redis may not hold exactly our leases (an acquire or release happened during an outage). */
  #isDirty = false
  #timer: NodeJS.Timeout | undefined
  #beating: Promise<void> | undefined

  constructor (link: RedisLeasesLink) {
    this.#link = link
    this.nodesKey = link.prefix + 'nodes'
  }

  /** Connection slots this node holds (accepted or in handshake). */
  get size (): number {
    return this.#leases.size
  }

  /** Redis may have missed a change: the next heartbeat re-registers every lease. */
  markDirty (): void {
    this.#isDirty = true
  }

  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    const pub = this.#link.connected()
    if (pub === undefined) {
      // outage (already logged once): the handshake has checked the local limit; Redis learns of this lease when it is back
      this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
      this.#isDirty = true
      return true
    }
    const { nodeId, prefix } = this.#link
    try {
      let result = await pub.rtAcquire(this.#userKey(userId), this.#nodeConnsKey(), this.#nodeKey(), connectionId, nodeId, max, prefix, userId)
      if (result === -1) {
        // our liveness key expired (a stalled loop, a flushed Redis): re-register, then try again
        await this.beat()
        result = await pub.rtAcquire(this.#userKey(userId), this.#nodeConnsKey(), this.#nodeKey(), connectionId, nodeId, max, prefix, userId)
      }
      if (result === 1) {
        this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
        return true
      }
      if (result === 0) return false
      /* c8 ignore next */ // the node key lapsing again between the re-registering heartbeat and the retry (a second flush within a round trip)
      throw new AdapterProtocolError('this node is not registered in Redis')
    } catch (err) {
      // the lease may or may not be in Redis: keep it and let the next heartbeat reconcile
      this.#leases.set(connectionId, { userId, acquiredAt: Date.now() })
      this.#isDirty = true
      throw err
    }
  }

  /** Never rejects for a Redis outage: the next heartbeat after it reconciles Redis with this node's leases. */
  async release (userId: string, connectionId: string): Promise<void> {
    /* c8 ignore next */ // already freed as abandoned: only a socket upgraded after handshakeGraceMs gets here
    if (!this.#leases.delete(connectionId)) return
    const pub = this.#link.connected()
    if (pub === undefined) {
      this.#isDirty = true
      return
    }
    try {
      await pub.rtRelease(this.#userKey(userId), this.#nodeConnsKey(), connectionId)
    } catch {
      this.#isDirty = true
    }
  }

  /** A heartbeat every heartbeatMs from now on. */
  startBeating (): void {
    this.#timer = setInterval(() => { void this.beat() }, this.#link.heartbeatMs)
    this.#timer.unref()
  }

  /** One heartbeat at a time: a beat asked for while one runs is that one. */
  beat (): Promise<void> {
    /* c8 ignore next */ // a handshake re-registering while the timer's beat runs: timing
    if (this.#beating !== undefined) return this.#beating
    this.#beating = this.#doBeat().finally(() => { this.#beating = undefined })
    return this.#beating
  }

  /**
   * Refreshes the liveness key, reaps dead nodes, frees abandoned handshake
   * slots, re-registers the leases if needed, then tells presence whether
   * the liveness key was still there (false: this node was gone from Redis).
   */
  async #doBeat (): Promise<void> {
    const pub = this.#link.ready()
    if (pub === undefined) return
    this.#releaseAbandoned(Date.now())
    const { nodeId, prefix } = this.#link
    try {
      const [existed] = await pub.rtHeartbeat(this.#nodeKey(), this.nodesKey, nodeId, this.#link.leaseMs, prefix)
      if (existed === 0 || this.#isDirty) {
        this.#isDirty = false
        const pairs: string[] = []
        for (const [connectionId, lease] of this.#leases) pairs.push(connectionId, lease.userId)
        await pub.rtResync(this.#nodeConnsKey(), nodeId, prefix, ...pairs)
      }
      await this.#link.afterBeat(existed === 1)
    } catch (err) {
      this.#isDirty = true
      this.#link.onBeatFailed(err)
    }
  }

  /** The adapter closes: no more heartbeats (one in flight ends first). */
  async stopBeating (): Promise<void> {
    clearInterval(this.#timer)
    /* c8 ignore next */ // a heartbeat in flight at close is a matter of timing
    if (this.#beating !== undefined) await this.#beating.catch(() => {})
  }

  /** Leaves the cluster: this node's leases, key and entry go. */
  async leave (pub: Publisher): Promise<void> {
    await pub.rtLeave(this.#nodeConnsKey(), this.#nodeKey(), this.nodesKey, this.#link.nodeId, this.#link.prefix)
  }

  clear (): void {
    this.#leases.clear()
  }

  /** Live nodes, their leases and the users holding them. */
  async stats (pub: Publisher): Promise<[number, number, number]> {
    return await pub.rtStats(this.nodesKey, this.#link.prefix)
  }

  /** Slots claimed by handshakes that never became connections (a plain GET, a client gone before the upgrade). */
  #releaseAbandoned (now: number): void {
    for (const [connectionId, lease] of this.#leases) {
      if (now - lease.acquiredAt > this.#link.handshakeGraceMs && !this.#link.hasConnection(connectionId)) {
        void this.release(lease.userId, connectionId)
      }
    }
  }

  #nodeKey (): string {
    return `${this.#link.prefix}node:${this.#link.nodeId}`
  }

  #nodeConnsKey (): string {
    return `${this.#link.prefix}node-conns:${this.#link.nodeId}`
  }

  #userKey (userId: string): string {
    return `${this.#link.prefix}user:${userId}`
  }
}
