import type { FastifyBaseLogger } from 'fastify'

/** Who a message is for. Connection ids are unique across the cluster. */
export type DeliveryTarget =
  | { kind: 'all' }
  | { kind: 'event', event: string }
  /** With `event`, only those users' connections subscribed to it. */
  | { kind: 'users', userIds: readonly string[], event?: string }
  | { kind: 'connection', connectionId: string }

/** What travels between nodes: already-encoded frames, never objects to re-encode. */
export type ClusterMessage =
  /** `publishedAt` (ms since the epoch, the publishing node's clock), when the transport carries it: for the cross-node latency metric. */
  | { kind: 'deliver', target: DeliveryTarget, payload: string, publishedAt?: number }
  | { kind: 'disconnect', userId: string, code: number, reason: string }

/** What a node gives its adapter when it starts. */
export interface AdapterContext {
  /** This node's id, unique per process. */
  readonly nodeId: string
  readonly log: FastifyBaseLogger
  /** Hand a message that another node published to this node's connections. */
  receive (message: ClusterMessage): void
  /** Local connection count per user, for adapters that keep cluster-wide counts. */
  localConnectionCount (userId: string): number
  /** Whether this node holds the connection (adapters free slots claimed by handshakes that never became connections). */
  hasConnection (connectionId: string): boolean
}

/** Whether an adapter reaches the other nodes, for `app.realtime.health()` and the metrics. */
export interface AdapterHealth {
  connected: boolean
  /** Why it is not connected (an error message, never a credential). */
  lastError?: string
  /** Times it got its connection back after losing it, since it started. */
  reconnects?: number
}

export interface ClusterStats {
  nodes: number
  connections: number
  users: number
}

/**
 * The transport between the nodes of one logical realtime server. The node
 * always delivers to its own connections itself; an adapter only carries
 * messages to the other nodes and, optionally, keeps cluster-wide
 * per-user connection counts.
 */
export interface Adapter {
  start (context: AdapterContext): Promise<void>
  /** Sends to every other node. Rejects when the message could not be handed to the transport. */
  publish (message: ClusterMessage): Promise<void>
  /**
   * Claims a connection slot for `userId` across the cluster. Resolves false
   * when the user already holds `max` connections. Adapters that do not
   * implement it leave the limit per node.
   */
  acquireConnection? (userId: string, connectionId: string, max: number): Promise<boolean>
  releaseConnection? (userId: string, connectionId: string): Promise<void>
  clusterStats? (): Promise<ClusterStats>
  /** Its connection state; an adapter without one (the in-memory one) is always connected. */
  health? (): AdapterHealth
  close (): Promise<void>
}
