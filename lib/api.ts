import type { ConnectionInfo } from './connection.js'
import type { RealtimeStats } from './stats.js'
import type { ClusterStats, MembershipTarget } from './adapters/adapter.js'
import type { RealtimeHealth } from './observability/health.js'
import type { MetricsRegistry } from './observability/metrics.js'
import type { NotificationLevel, OutboundMessage, RealtimeEvents } from './protocol/server-messages.js'
import type { PresenceApi } from './presence/presence-api.js'
import type { AsyncApiDocument } from './asyncapi/types.js'

export interface NotificationOptions {
  level?: NotificationLevel
  /** Send to these users' connections (whatever they subscribed to); everyone connected when left out. */
  targetUsers?: readonly string[]
  /** Extra fields merged into the notification's data. */
  extra?: Record<string, unknown>
}

export interface UserDeliveryOptions {
  /** Only the user's connections subscribed to this event. */
  subscribedTo?: string
}

export interface ClusterView extends ClusterStats {
  /** This node's own view. */
  local: RealtimeStats
}

/**
 * `app.realtime`: server-side delivery from any route handler.
 *
 * Every delivery method builds the message once (one timestamp, one id, one
 * serialization) and resolves with the number of connections **on this
 * node** it was written to. With a cluster adapter the message is also
 * published to the other nodes, whose counts are not waited for; if that
 * publish fails the promise rejects with FST_REALTIME_PUBLISH_FAILED, whose
 * `delivered` property still says what this node delivered.
 * A message over maxMessageSize rejects with FST_REALTIME_MESSAGE_TOO_LARGE
 * and is sent to nobody.
 *
 * A message of a stream (a channel whose namespace has `history`; with the
 * `inbox` option, anything addressed to users without `subscribedTo`) gets
 * its offsets first. With a clustered history engine (Redis) it is delivered
 * on every node, this one too, as it comes back from Redis, and the count is
 * of this node's connections it is for. One that cannot get its offsets is
 * sent to nobody: FST_REALTIME_PUBLISH_FAILED with `delivered: 0`.
 */
export interface RealtimeApi extends PresenceApi {
  /** This process's node id (unique per process). */
  readonly nodeId: string
  sendToConnection<K extends string>(connectionId: string, message: OutboundMessage<K>): Promise<number>
  /**
   * Every connection of the user, whatever it subscribed to (the seed's
   * semantics); with `subscribedTo`, only its connections subscribed to that event.
   */
  sendToUser<K extends string>(userId: string, message: OutboundMessage<K>, options?: UserDeliveryOptions): Promise<number>
  /** Every connection of each listed user (each user once). */
  sendToUsers<K extends string>(userIds: readonly string[], message: OutboundMessage<K>, options?: UserDeliveryOptions): Promise<number>
  broadcastToAll<K extends string>(message: OutboundMessage<K>): Promise<number>
  /** Only connections subscribed to `event`. */
  broadcastToSubscribers<K extends string>(event: string, message: OutboundMessage<K>): Promise<number>
  /** system.notification to targetUsers, or to every connection. */
  broadcastSystemNotification (message: string, options?: NotificationOptions): Promise<number>
  /** review.updated to targetUsers, or to subscribers of review.updated. */
  broadcastReviewUpdated (reviewId: string, changes: Record<string, unknown>, targetUsers?: readonly string[]): Promise<number>
  /** file.processing (status 'processing') or file.ready (any other status) to the user's connections. */
  broadcastFileProcessingStatus (userId: string, fileId: string, status: string, progress?: number, extra?: Record<string, unknown>): Promise<number>
  /**
   * Closes every connection of the user on every node (revocation), with
   * close code 4500 unless told otherwise. Resolves the local count.
   * `code` must be 4000-4999 (the application's range) or one of 1000,
   * 1001, 1008, 1011, 1012, 1013: any other rejects with
   * FST_REALTIME_CLOSE_CODE_INVALID before anything is closed. `reason` is
   * cut to the 123 bytes a close frame holds, between two characters.
   */
  disconnectUser (userId: string, reason?: string, code?: number): Promise<number>
  /** This node's counters. */
  stats (): RealtimeStats
  /** The cluster's view (nodes, connections, users) with the local stats; a single node without a cluster adapter. */
  clusterStats (): Promise<ClusterView>
  getConnection (connectionId: string): ConnectionInfo | undefined
  connectionsOf (userId: string): ConnectionInfo[]
  /**
   * The protocol of this server as an AsyncAPI 3.0 document, built from the
   * schemas that validate its frames: every client and server message (your
   * `messages` and `events` included), the channel namespaces, the token
   * locations as security schemes, close codes and wire error codes. Built
   * once, on the first call; the same deeply frozen object after that.
   */
  asyncapi (): AsyncApiDocument

  // ---- channels (`namespace:id` of a declared namespace) ----

  /**
   * To the connections in `channel` on every node, each once; the envelope
   * carries `channel`. Rejects with FST_REALTIME_CHANNEL_INVALID for a
   * malformed channel or an undeclared namespace.
   */
  publish<K extends string>(channel: string, message: OutboundMessage<K>): Promise<number>
  /**
   * Puts the target's connections in `channel`, on every node, without
   * authorize (the server decided); each one that was not in it yet is sent
   * `subscription.joined`. Resolves how many local connections joined. A
   * joined channel lasts as long as the connection: after a reconnect the
   * client must subscribe to it again (the typed client does, and authorize
   * then runs).
   */
  join (target: ChannelMember, channel: string): Promise<number>
  /**
   * Takes the target's connections out of `channel` on every node, whether
   * they subscribed or were joined; each is sent `subscription.ended` with
   * `reason` ('left' by default, say 'revoked' for a revocation). Resolves
   * how many local connections left.
   */
  leave (target: ChannelMember, channel: string, reason?: string): Promise<number>
  /** Connections in `channel` on this node. */
  subscribersOf (channel: string): number
  /** Connections in `channel` across the cluster (this node's count without a cluster adapter). */
  clusterSubscribersOf (channel: string): Promise<number>
  /**
   * For a load balancer's check: 'ok', 'degraded' (the cluster adapter is
   * away; local delivery works) or 'failing' (this node refuses new
   * connections: shutting down, full or overloaded).
   */
  health (): RealtimeHealth
  /** The prom-client registry holding the plugin's metrics (the host's when it gave one); undefined when metrics are off. */
  readonly metricsRegistry: MetricsRegistry | undefined
}

/** Whose membership join/leave changes: every connection of a user, or one connection. */
export type ChannelMember = MembershipTarget

export type { RealtimeEvents }
