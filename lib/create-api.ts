import type { RealtimeApi, NotificationOptions, ClusterView } from './api.js'
import type { RealtimeNode } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import type { OutboundMessage } from './protocol/server-messages.js'
import type { RealtimeHealth } from './observability/health.js'
import type { MetricsRegistry } from './observability/metrics.js'
import { CloseCode } from './protocol/codes.js'
import { InvalidChannelError, InvalidCloseCodeError, InvalidOutboundMessageError, PublishFailedError } from './errors.js'
import { MAX_CLOSE_REASON_BYTES, truncateUtf8 } from './bounded-text.js'
import type { MembershipTarget } from './adapters/adapter.js'
import { CHANNEL_ID_PATTERN } from './channels/names.js'
import { createPresenceApi } from './presence/presence-api.js'
import type { AsyncApiDocument } from './asyncapi/types.js'

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
  const now = (): string => new Date().toISOString()
  const toUsers = (userIds: readonly string[], type: string, data: unknown, subscribedTo?: string): Promise<number> =>
    node.deliverTo(subscribedTo === undefined ? { kind: 'users', userIds } : { kind: 'users', userIds, event: subscribedTo }, type, data)

  const api: RealtimeApi = {
    nodeId: node.nodeId,
    async sendToConnection (connectionId, message) {
      checkMessage(message)
      return node.deliverTo({ kind: 'connection', connectionId }, message.type, message.data)
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
      return node.deliverTo({ kind: 'all' }, message.type, message.data)
    },
    async broadcastToSubscribers (event, message) {
      checkMessage(message)
      return node.deliverTo({ kind: 'event', event }, message.type, message.data)
    },
    async broadcastSystemNotification (message: string, options: NotificationOptions = {}) {
      const data = { ...options.extra, message, level: options.level ?? 'info', timestamp: now() }
      if (options.targetUsers !== undefined && options.targetUsers.length > 0) {
        return toUsers(options.targetUsers, 'system.notification', data)
      }
      return node.deliverTo({ kind: 'all' }, 'system.notification', data)
    },
    async broadcastReviewUpdated (reviewId, changes, targetUsers) {
      const data = { review_id: reviewId, changes, timestamp: now() }
      const base = targetUsers !== undefined && targetUsers.length > 0
        ? { kind: 'users' as const, userIds: targetUsers }
        : { kind: 'event' as const, event: 'review.updated' }
      // with a review namespace, review:<id>'s members get it too (with `channel`), each connection once
      if (node.channels.namespaces.has('review') && typeof reviewId === 'string' && CHANNEL_ID_PATTERN.test(reviewId)) {
        return node.deliverTo({ kind: 'withChannel', base, channel: `review:${reviewId}` }, 'review.updated', data)
      }
      return node.deliverTo(base, 'review.updated', data)
    },
    async broadcastFileProcessingStatus (userId, fileId, status, progress, extra) {
      const data: Record<string, unknown> = { ...extra, file_id: fileId, status, timestamp: now() }
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
      return node.deliverToChannel(channel, message.type, message.data)
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
    const changed = await node.membershipLocal(action, member, channel, reason)
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
