import type { RealtimeNode } from '../realtime-node.js'
import type { Adapter } from '../adapters/adapter.js'
import type { ResolvedOptions } from '../options.js'
import type { ApiObservability } from '../realtime-api.js'
import { createMetrics, type MetricsSource, type RealtimeMetrics } from './metrics.js'
import { assessHealth } from './health.js'

/** The protocol's own message types; a type added later is counted as soon as one arrives, only its zero line is missing. */
const CORE_MESSAGE_TYPES = ['ping', 'heartbeat', 'subscribe', 'unsubscribe']

export interface Observability extends ApiObservability {
  /** At app close: the metrics leave a host's registry, which outlives the app. */
  close (): void
}

/** Health always; metrics when the option is on (node.metrics set, so its hot paths observe). */
export function setUpObservability (node: RealtimeNode, adapter: Adapter, options: ResolvedOptions): Observability {
  const metrics: RealtimeMetrics | undefined = options.metrics === undefined ? undefined : createMetrics(metricsSource(node, adapter, options), options.metrics)
  node.metrics = metrics
  return {
    health: () => assessHealth({
      isClosing: node.isClosing,
      connections: node.registry.size,
      eventLoopDelayMs: node.load.meanMs,
      maxConnections: options.maxConnections,
      maxEventLoopDelayMs: options.maxEventLoopDelayMs,
      adapter: adapter.health?.()
    }),
    metricsRegistry: metrics?.registry,
    close () {
      node.metrics = undefined
      metrics?.unregister()
    }
  }
}

function metricsSource (node: RealtimeNode, adapter: Adapter, options: ResolvedOptions): MetricsSource {
  return {
    counters: node.counters,
    connections: () => node.registry.size,
    users: () => node.registry.userCount,
    subscriptions: () => node.registry.subscriptionCounts(),
    events: options.events,
    namespaces: [...options.channels.keys()],
    presenceNamespaces: [...options.channels].filter(([, namespace]) => namespace.presence !== undefined && namespace.presence !== false).map(([name]) => name),
    channelSubscriptions: () => node.channels.index.subscriptionsByNamespace,
    messageTypes: [...CORE_MESSAGE_TYPES, ...options.messages.keys()],
    bufferedBytes () {
      let bytes = 0
      for (const connection of node.registry.all()) bytes += connection.bufferedAmount
      return bytes
    },
    eventLoopDelayMs: () => node.stats().eventLoopDelayMs,
    adapterHealth: () => adapter.health?.() ?? { connected: true },
    slowConsumerAction: options.slowConsumer
  }
}
