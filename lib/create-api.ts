import type { RealtimeApi, NotificationOptions, ClusterView } from './api.js'
import type { RealtimeNode } from './realtime-node.js'
import type { Adapter } from './adapters/adapter.js'
import type { OutboundMessage } from './protocol/server-messages.js'
import { CloseCode } from './protocol/codes.js'
import { InvalidOutboundMessageError, PublishFailedError } from './errors.js'
import { createPresenceApi } from './presence/presence-api.js'

function checkMessage (message: OutboundMessage<string>): void {
  if (message === null || typeof message !== 'object') throw new InvalidOutboundMessageError('message must be { type, data }')
}

/** The seed's helpers, on top of the node's delivery. */
export function createRealtimeApi (node: RealtimeNode, adapter: Adapter): RealtimeApi {
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
      if (targetUsers !== undefined && targetUsers.length > 0) return toUsers(targetUsers, 'review.updated', data)
      return node.deliverTo({ kind: 'event', event: 'review.updated' }, 'review.updated', data)
    },
    async broadcastFileProcessingStatus (userId, fileId, status, progress, extra) {
      const data: Record<string, unknown> = { ...extra, file_id: fileId, status, timestamp: now() }
      if (progress !== undefined) data.progress = progress
      return toUsers([userId], status === 'processing' ? 'file.processing' : 'file.ready', data)
    },
    async disconnectUser (userId, reason = 'disconnected by server', code = CloseCode.disconnectedByServer) {
      const closed = node.disconnectLocal(userId, code, reason)
      try {
        await adapter.publish({ kind: 'disconnect', userId, code, reason })
      } catch (err) {
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
    ...createPresenceApi(node.presence)
  }
  return api
}
