import type { AdapterHealth } from '../adapters/adapter.js'

/**
 * ok: serving. degraded: serving this node's connections, but the cluster
 * adapter does not reach the other nodes (local delivery still works).
 * failing: this node refuses new connections (shutting down, full, or
 * shedding load for event loop delay): a load balancer should send them elsewhere.
 */
export type HealthStatus = 'ok' | 'degraded' | 'failing'

export interface RealtimeHealth {
  status: HealthStatus
  adapter: { connected: boolean, lastError?: string }
  /** Mean event loop delay over the last sweep tick. */
  eventLoopDelayMs: number
  /** Open connections on this node. */
  connections: number
}

export interface HealthSource {
  readonly isClosing: boolean
  readonly connections: number
  readonly eventLoopDelayMs: number
  readonly maxConnections: number
  /** 0: never sheds for loop delay. */
  readonly maxEventLoopDelayMs: number
  readonly adapter: AdapterHealth | undefined
}

export function assessHealth (source: HealthSource): RealtimeHealth {
  const adapter: RealtimeHealth['adapter'] = { connected: source.adapter?.connected ?? true }
  if (source.adapter?.lastError !== undefined) adapter.lastError = source.adapter.lastError.slice(0, 200)
  const isRefusing = source.isClosing ||
    source.connections >= source.maxConnections ||
    (source.maxEventLoopDelayMs > 0 && source.eventLoopDelayMs > source.maxEventLoopDelayMs)
  const status: HealthStatus = isRefusing ? 'failing' : (adapter.connected ? 'ok' : 'degraded')
  return { status, adapter, eventLoopDelayMs: source.eventLoopDelayMs, connections: source.connections }
}
