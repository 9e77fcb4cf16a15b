import type { ConnectionInfo } from './connection.js'
import type { RealtimeStats } from './stats.js'
import type { ClusterStats, MembershipTarget, Adapter } from './adapters/adapter.js'
import type { RealtimeHealth } from './observability/health.js'
import type { MetricsRegistry } from './observability/metrics.js'
import type { NotificationLevel, OutboundMessage, RealtimeEvents } from './protocol/server-messages.js'
import type { PresenceApi } from './presence/presence-api.js'
import type { AsyncApiDocument } from './asyncapi/types.js'
import type { RealtimeNode } from './realtime-node.js'
import { CloseCode } from './protocol/codes.js'
import { InvalidChannelError, InvalidCloseCodeError, InvalidOutboundMessageError, PublishFailedError } from './errors.js'
import { MAX_CLOSE_REASON_BYTES, truncateUtf8 } from './bounded-text.js'
import { CHANNEL_ID_PATTERN } from './channels/names.js'
import { isoNow } from './timestamp.js'
import { createPresenceApi } from './presence/presence-api.js'

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

function checkMessage (message: OutboundMessage<string>): void {
  if (message === null || typeof message !== 'object') throw new InvalidOutboundMessageError('message must be { type, data }')
}

/** Close codes of the protocol's own that a host may also send; any 4000-4999 is the application's. */
const HOST_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.normal, CloseCode.goingAway, CloseCode.policyViolation, CloseCode.internalError, CloseCode.serviceRestart, CloseCode.tryAgainLater
])

/** Checked before anything is closed: ws would throw on a code it does not accept and leave the connection half-closed. */
function checkCloseCode (code: number): void {
  if (Number.isInteger(code) && ((code >= 4000 && code <= 4999) || HOST_CLOSE_CODES.has(code))) return
  throw new InvalidCloseCodeError(String(code))
}

/** What the plugin's observability adds to the API. */
export interface ApiObservability {
  health: () => RealtimeHealth
  metricsRegistry: MetricsRegistry | undefined
}

/** The seed's helpers, on top of the node's delivery. */
export function createRealtimeApi (node: RealtimeNode, adapter: Adapter, observability: ApiObservability, asyncapi: () => AsyncApiDocument): RealtimeApi {
  const toUsers = (userIds: readonly string[], type: string, data: unknown, subscribedTo?: string): Promise<number> =>
    node.outbound.deliverTo(subscribedTo === undefined ? { kind: 'users', userIds } : { kind: 'users', userIds, event: subscribedTo }, type, data)

  const api: RealtimeApi = {
    nodeId: node.nodeId,
    async sendToConnection (connectionId, message) {
      checkMessage(message)
      return node.outbound.deliverTo({ kind: 'connection', connectionId }, message.type, message.data)
    },
    async sendToUser (userId, message, options) {
      checkMessage(message)
      return toUsers([userId], message.type, message.data, options?.subscribedTo)
    },
    async sendToUsers (userIds, message, options) {
      checkMessage(message)
      return toUsers(userIds, message.type, message.data, options?.subscribedTo)
    },
    async broadcastToAll (message) {
      checkMessage(message)
      return node.outbound.deliverTo({ kind: 'all' }, message.type, message.data)
    },
    async broadcastToSubscribers (event, message) {
      checkMessage(message)
      return node.outbound.deliverTo({ kind: 'event', event }, message.type, message.data)
    },
    async broadcastSystemNotification (message: string, options: NotificationOptions = {}) {
      const data = { ...options.extra, message, level: options.level ?? 'info', timestamp: isoNow() }
      if (options.targetUsers !== undefined && options.targetUsers.length > 0) {
        return toUsers(options.targetUsers, 'system.notification', data)
      }
      return node.outbound.deliverTo({ kind: 'all' }, 'system.notification', data)
    },
    async broadcastReviewUpdated (reviewId, changes, targetUsers) {
      const data = { review_id: reviewId, changes, timestamp: isoNow() }
      const base = targetUsers !== undefined && targetUsers.length > 0
        ? { kind: 'users' as const, userIds: targetUsers }
        : { kind: 'event' as const, event: 'review.updated' }
      // with a review namespace, review:<id>'s members get it too (with `channel`), each connection once
      if (node.channels.namespaces.has('review') && typeof reviewId === 'string' && CHANNEL_ID_PATTERN.test(reviewId)) {
        return node.outbound.deliverTo({ kind: 'withChannel', base, channel: `review:${reviewId}` }, 'review.updated', data)
      }
      return node.outbound.deliverTo(base, 'review.updated', data)
    },
    async broadcastFileProcessingStatus (userId, fileId, status, progress, extra) {
      const data: Record<string, unknown> = { ...extra, file_id: fileId, status, timestamp: isoNow() }
      if (progress !== undefined) data.progress = progress
      return toUsers([userId], status === 'processing' ? 'file.processing' : 'file.ready', data)
    },
    async disconnectUser (userId, reason = 'disconnected by server', code = CloseCode.disconnectedByServer) {
      checkCloseCode(code)
      // a close frame holds 123 bytes of reason: cut once here, so every node closes with the same text
      const trimmed = truncateUtf8(String(reason), MAX_CLOSE_REASON_BYTES)
      const closed = node.disconnectLocal(userId, code, trimmed)
      try {
        await adapter.publish({ kind: 'disconnect', userId, code, reason: trimmed })
      } catch (err) {
        node.counters.publishFailures++
        throw Object.assign(new PublishFailedError((err as Error).message), { delivered: closed })
      }
      return closed
    },
    stats: () => node.stats(),
    async clusterStats (): Promise<ClusterView> {
      const local = node.stats()
      if (adapter.clusterStats === undefined) {
        return { nodes: 1, connections: local.connections, users: local.users, local }
      }
      return { ...(await adapter.clusterStats()), local }
    },
    getConnection: (connectionId) => node.registry.get(connectionId),
    connectionsOf: (userId) => [...(node.registry.forUser(userId) ?? [])],
    health: observability.health,
    metricsRegistry: observability.metricsRegistry,
    ...createPresenceApi(node.presence, node.channels),
    asyncapi,

    async publish (channel, message) {
      checkChannel(channel)
      checkMessage(message)
      return node.outbound.deliverToChannel(channel, message.type, message.data)
    },
    async join (target, channel) {
      return membership('join', target, channel)
    },
    async leave (target, channel, reason = 'left') {
      if (typeof reason !== 'string' || reason.length === 0 || reason.length > 128) {
        throw new InvalidOutboundMessageError('reason must be a string of 1-128 characters')
      }
      return membership('leave', target, channel, reason)
    },
    subscribersOf: (channel) => node.channels.index.count(channel),
    async clusterSubscribersOf (channel) {
      checkChannel(channel)
      if (adapter.clusterSubscribersOf === undefined) return node.channels.index.count(channel)
      return adapter.clusterSubscribersOf(channel)
    }
  }

  function checkChannel (channel: string): void {
    if (node.channels.parse(channel) === undefined) {
      throw new InvalidChannelError(`not a channel of a declared namespace: ${String(channel).slice(0, 200)}`)
    }
  }

  /** Applies the change here, then on every other node (a connection found here is nowhere else). */
  async function membership (action: 'join' | 'leave', target: MembershipTarget, channel: string, reason?: string): Promise<number> {
    checkChannel(channel)
    const member = checkTarget(target)
    const changed = await node.outbound.membershipLocal(action, member, channel, reason)
    if ('connectionId' in member && node.registry.get(member.connectionId) !== undefined) return changed
    try {
      await adapter.publish(reason === undefined ? { kind: 'membership', action, target: member, channel } : { kind: 'membership', action, target: member, channel, reason })
    } catch (err) {
      throw Object.assign(new PublishFailedError((err as Error).message), { delivered: changed })
    }
    return changed
  }
  return api
}

/** Only the key that names the target travels to other nodes. */
function checkTarget (target: MembershipTarget): MembershipTarget {
  const candidate = target as { userId?: unknown, connectionId?: unknown } | null
  if (candidate !== null && typeof candidate === 'object') {
    if (typeof candidate.userId === 'string' && candidate.connectionId === undefined) return { userId: candidate.userId }
    if (typeof candidate.connectionId === 'string' && candidate.userId === undefined) return { connectionId: candidate.connectionId }
  }
  throw new InvalidOutboundMessageError('target must be { userId } or { connectionId }')
}
