import type { FastifyBaseLogger } from 'fastify'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'

/** Who a message is for. Connection ids are unique across the cluster. */
export type DeliveryTarget =
  | { kind: 'all' }
  | { kind: 'event', event: string }
  /** With `event`, only those users' connections subscribed to it. */
  | { kind: 'users', userIds: readonly string[], event?: string }
  | { kind: 'connection', connectionId: string }

/** What travels between nodes: already-encoded frames, never objects to re-encode. */
export type ClusterMessage =
  | { kind: 'deliver', target: DeliveryTarget, payload: string }
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
  /**
   * Presence state shared by the cluster (called once, before start; the
   * backend is started after the adapter). Without it, presence is kept per node.
   */
  presence? (context: PresenceBackendContext): PresenceBackend
  close (): Promise<void>
}
