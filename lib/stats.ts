/** Monotonic counters, read by stats(). Plain fields: incremented on hot paths. */
export class Counters {
  messagesIn = 0
  messagesOut = 0
  errors = 0
  rateLimited = 0
  connectionsOpened = 0
  connectionsRejected = 0
  slowConsumerEvents = 0
  heartbeatTimeouts = 0
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
  /** Messages refused with RATE_LIMIT_EXCEEDED. */
  rateLimited: number
  connectionsOpened: number
  /** Handshakes refused (401, 403, 429, 503). */
  connectionsRejected: number
  /** Messages dropped or connections closed because a client stopped reading. */
  slowConsumerEvents: number
  /** Connections closed for showing no sign of life. */
  heartbeatTimeouts: number
  /** Subscriber count per event. */
  subscriptions: Record<string, number>
  /** Channels with at least one connection of this node in them. */
  channels: number
  uptimeSeconds: number
  /** Event loop delay in ms over the last sweep tick (at most a second). */
  eventLoopDelayMs: { mean: number, p99: number, max: number }
  nodeId: string
}
