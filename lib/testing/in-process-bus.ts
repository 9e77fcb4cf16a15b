import { UserSlots } from '../adapters/user-slots.js'
import type { Adapter, AdapterContext, ClusterMessage, ClusterStats } from '../adapters/adapter.js'

export interface InProcessBusOptions {
  /**
   * Keep cluster-wide per-user connection counts (acquire/release, as the
   * Redis adapter does), so maxConnectionsPerUser holds across the nodes.
   * Default true; false leaves the limit per node, as an adapter without
   * counting does.
   */
  countConnections?: boolean
}

/**
 * A cluster transport inside one process, for tests: every node's adapter()
 * publishes to the other nodes' receive(), on a later turn of the event loop
 * (a transport is never synchronous) and as a JSON copy (what crosses a
 * real transport is bytes, never shared objects).
 */
export class InProcessBus {
  readonly #nodes = new Set<InProcessAdapter>()
  /** userId -> connection ids holding a slot, across the cluster. */
  readonly #slots = new UserSlots()
  readonly #countConnections: boolean
  #published = 0

  constructor (options: InProcessBusOptions = {}) {
    this.#countConnections = options.countConnections ?? true
  }

  /** A new node's adapter: give each node its own. */
  adapter (): Adapter {
    return new InProcessAdapter(this, this.#countConnections)
  }

  /** Messages published on the bus so far, by every node. */
  get published (): number {
    return this.#published
  }

  /** Nodes started and not closed. */
  get nodeCount (): number {
    return this.#nodes.size
  }

  join (node: InProcessAdapter): void { this.#nodes.add(node) }
  leave (node: InProcessAdapter): void { this.#nodes.delete(node) }

  publish (from: InProcessAdapter, message: ClusterMessage): void {
    this.#published++
    const copy = JSON.stringify(message)
    for (const node of this.#nodes) {
      if (node !== from) setImmediate(() => node.deliver(JSON.parse(copy) as ClusterMessage))
    }
  }

  acquire (userId: string, connectionId: string, max: number): boolean {
    return this.#slots.acquire(userId, connectionId, max)
  }

  release (userId: string, connectionId: string): void {
    this.#slots.release(userId, connectionId)
  }

  stats (): ClusterStats {
    return { nodes: this.#nodes.size, ...this.#slots.counts() }
  }
}

/** One node's side of an InProcessBus. */
class InProcessAdapter implements Adapter {
  readonly #bus: InProcessBus
  #context: AdapterContext | undefined
  /** This node's slots, given back if it closes with some still held (a dead node's leases lapse). */
  readonly #held = new Map<string, string>()
  acquireConnection?: (userId: string, connectionId: string, max: number) => Promise<boolean>
  releaseConnection?: (userId: string, connectionId: string) => Promise<void>
  clusterStats?: () => Promise<ClusterStats>

  constructor (bus: InProcessBus, countConnections: boolean) {
    this.#bus = bus
    if (!countConnections) return
    this.acquireConnection = async (userId, connectionId, max) => {
      const acquired = this.#bus.acquire(userId, connectionId, max)
      if (acquired) this.#held.set(connectionId, userId)
      return acquired
    }
    this.releaseConnection = async (userId, connectionId) => {
      this.#held.delete(connectionId)
      this.#bus.release(userId, connectionId)
    }
    this.clusterStats = async () => this.#bus.stats()
  }

  async start (context: AdapterContext): Promise<void> {
    this.#context = context
    this.#bus.join(this)
  }

  async publish (message: ClusterMessage): Promise<void> {
    this.#bus.publish(this, message)
  }

  deliver (message: ClusterMessage): void {
    this.#context?.receive(message)
  }

  async close (): Promise<void> {
    this.#bus.leave(this)
    this.#context = undefined
    for (const [connectionId, userId] of this.#held) this.#bus.release(userId, connectionId)
    this.#held.clear()
  }
}
