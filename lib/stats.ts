import {
  bump, channelPresenceKey, closeLabel, createTally, recoveryKey, recoveryOutcome, refusalReason, RECOVERY_INBOX, UNKNOWN_TYPE, wireCodeLabel,
  type ChannelPresenceChange, type RecoveryOutcome, type Tally
} from './observability/labels.js'

/**
 * Monotonic counters, read by stats() and, at scrape time, by the
 * Prometheus metrics. Plain fields and tallies keyed by bounded labels:
 * incremented on hot paths, so nothing here allocates or calls out.
 */
export class Counters {
  messagesIn = 0
  messagesOut = 0
  errors = 0
  rateLimited = 0
  connectionsOpened = 0
  connectionsRejected = 0
  slowConsumerEvents = 0
  heartbeatTimeouts = 0
  sendFailures = 0
  /** Publishes the adapter refused (the other nodes were not reached). */
  publishFailures = 0
  /** Messages other nodes published that this node applied. */
  clusterMessagesReceived = 0
  /** Refused handshakes by reason label (labels.ts). */
  readonly refusalsByReason: Tally = createTally()
  /** Closed connections by close-code label. */
  readonly closesByCode: Tally = createTally()
  /** Decoded messages by declared type; everything else under `unknown`. */
  readonly messagesByType: Tally = createTally()
  /** Error frames by wire code. */
  readonly errorsByCode: Tally = createTally()
  /** app.realtime deliveries by target kind (all, event, users, connection). */
  readonly deliveriesByTarget: Tally = createTally()
  /** User status changes this node decided (each decided once across the cluster), by `online` / `offline`. */
  readonly userStatusChanges: Tally = createTally()
  /** Channel presence changes this node decided, keyed by channelPresenceKey(namespace, change). */
  readonly channelPresenceChanges: Tally = createTally()
  /** Streams in recovery.result frames sent, keyed by recoveryKey(stream, result). */
  readonly recoveries: Tally = createTally()

  countRefusal (code: string | undefined): void {
    bump(this.refusalsByReason, refusalReason(code))
  }

  countClose (code: number): void {
    bump(this.closesByCode, closeLabel(code))
  }

  /** `type` is a declared message type, or undefined for a frame that decoded to none. */
  countMessage (type: string | undefined): void {
    bump(this.messagesByType, type ?? UNKNOWN_TYPE)
  }

  countError (code: string): void {
    bump(this.errorsByCode, wireCodeLabel(code))
  }

  countDelivery (targetKind: string): void {
    bump(this.deliveriesByTarget, targetKind)
  }

  countUserStatus (status: 'online' | 'offline'): void {
    bump(this.userStatusChanges, status)
  }

  /** `namespace` is the channel's declared namespace (the metric shows declared ones only). */
  countChannelPresence (namespace: string, change: ChannelPresenceChange): void {
    bump(this.channelPresenceChanges, channelPresenceKey(namespace, change))
  }

  /** One stream's outcome: `kind` is a channel's namespace or `inbox` (RECOVERY_INBOX). */
  countRecovery (kind: string, result: RecoveryOutcome): void {
    bump(this.recoveries, recoveryKey(kind, result))
  }

  /** Every stream of one recovery.result frame (`streams` as sent: by channel name, or `inbox`). */
  countRecoveries (streams: Readonly<Record<string, { recovered: boolean, reason?: string }>>): void {
    for (const stream in streams) {
      const outcome = streams[stream]
      /* c8 ignore next */ // for...in over the frame's own record: every key has a value
      if (outcome === undefined) continue
      const colon = stream.indexOf(':')
      this.countRecovery(colon > 0 ? stream.slice(0, colon) : RECOVERY_INBOX, outcome.recovered ? 'recovered' : recoveryOutcome(outcome.reason))
    }
  }
}

export interface RealtimeStats {
  /** Open connections on this node. */
  connections: number
  /** Distinct users connected to this node. */
  users: number
  messagesIn: number
  messagesOut: number
  /** Error frames sent to clients. */
  errors: number
  /** Messages refused by the rate limit (answered RATE_LIMIT_EXCEEDED or dropped unread). */
  rateLimited: number
  connectionsOpened: number
  /** Handshakes refused (401, 403, 429, 503). */
  connectionsRejected: number
  /** Messages dropped or connections closed because a client stopped reading. */
  slowConsumerEvents: number
  /** Connections closed for showing no sign of life. */
  heartbeatTimeouts: number
  /** Writes ws refused by throwing; each closed its connection (1011). */
  sendFailures: number
  /** Subscriber count per event. */
  subscriptions: Record<string, number>
  /** Channels with at least one connection of this node in them. */
  channels: number
  uptimeSeconds: number
  /** Event loop delay in ms over the last sweep tick (at most a second). */
  eventLoopDelayMs: { mean: number, p99: number, max: number }
  nodeId: string
}

/** What stats() reads from the registry: its sizes and subscriber counts. */
export interface StatsRegistry {
  readonly size: number
  readonly userCount: number
  subscriptionCounts (): Record<string, number>
}

/** One node's stats(): the counters as they are now, beside what only the node knows. */
export function statsOf (
  counters: Counters, registry: StatsRegistry, channels: number,
  node: Pick<RealtimeStats, 'uptimeSeconds' | 'eventLoopDelayMs' | 'nodeId'>
): RealtimeStats {
  return {
    connections: registry.size,
    users: registry.userCount,
    messagesIn: counters.messagesIn,
    messagesOut: counters.messagesOut,
    errors: counters.errors,
    rateLimited: counters.rateLimited,
    connectionsOpened: counters.connectionsOpened,
    connectionsRejected: counters.connectionsRejected,
    slowConsumerEvents: counters.slowConsumerEvents,
    heartbeatTimeouts: counters.heartbeatTimeouts,
    sendFailures: counters.sendFailures,
    subscriptions: registry.subscriptionCounts(),
    channels,
    uptimeSeconds: node.uptimeSeconds,
    eventLoopDelayMs: node.eventLoopDelayMs,
    nodeId: node.nodeId
  }
}
