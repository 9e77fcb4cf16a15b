import type { FastifyBaseLogger } from 'fastify'
import type { PresenceBackend, PresenceBackendContext } from '../presence/backend.js'
import type { HistoryEngine, StreamSequence } from '../history/history.js'

export interface EventTarget { kind: 'event', event: string }
/** With `event`, only those users' connections subscribed to it. */
export interface UsersTarget { kind: 'users', userIds: readonly string[], event?: string }

/** Who a message is for. Connection ids are unique across the cluster. */
export type DeliveryTarget =
  | { kind: 'all' }
  | EventTarget
  | UsersTarget
  | { kind: 'connection', connectionId: string }
  /** The connections in a channel (subscribed, or joined by the server); the payload carries `channel`. */
  | { kind: 'channel', channel: string }
  /**
   * `base`'s connections and the channel's, each connection once: those in
   * the channel get the payload with `channel` added, the others the plain
   * payload (the seed's broadcastReviewUpdated beside a `review` namespace).
   */
  | { kind: 'withChannel', base: EventTarget | UsersTarget, channel: string }

/** Whose channel membership a join or leave changes. */
export type MembershipTarget = { userId: string } | { connectionId: string }

/** What travels between nodes: already-encoded frames, never objects to re-encode. */
export type ClusterMessage =
  /**
   * `publishedAt` (ms since the epoch, the publishing node's clock), when the transport carries it: for the cross-node latency metric.
   * With `seq`: a message of one or more streams (history), the payload without its offsets.
   */
  | { kind: 'deliver', target: DeliveryTarget, payload: string, publishedAt?: number, seq?: StreamSequence }
  | { kind: 'disconnect', userId: string, code: number, reason: string }
  /** Server-side channel membership (app.realtime.join / leave), applied by every node to its own connections. */
  | { kind: 'membership', action: 'join' | 'leave', target: MembershipTarget, channel: string, reason?: string }

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
  /** This node's connections in a channel, for adapters that count a channel's subscribers across the cluster. */
  localChannelSubscribers (channel: string): number
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
 * always delivers to its own connections itself; an adapter carries
 * messages to the other nodes and, optionally, keeps what the cluster
 * shares: per-user connection counts, presence, which nodes need a
 * channel's messages and its subscriber count.
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
  /**
   * This node's first connection entered `channel`: from when the promise
   * resolves, the channel's messages published on any node must reach this
   * node (the node confirms the subscribe only then). Adapters that carry
   * every message to every node leave it out. Called once per 0 -> 1.
   */
  subscribeChannel? (channel: string): Promise<void>
  /** This node's last connection left `channel` (called once per 1 -> 0). */
  unsubscribeChannel? (channel: string): Promise<void>
  /** Connections in `channel` on every node; without it the API answers this node's count. */
  clusterSubscribersOf? (channel: string): Promise<number>
  /** Its connection state; an adapter without one (the in-memory one) is always connected. */
  health? (): AdapterHealth
  /**
   * Where streams (channels with history, inboxes) keep their history,
   * shared by every node; without it the node keeps them in memory (right
   * for one process only). Read after start().
   */
  readonly history?: HistoryEngine
  close (): Promise<void>
}
