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

/** The metrics when the option is on, for the node's constructor (its hot paths observe into them). */
export function createNodeMetrics (node: RealtimeNode, adapter: Adapter, options: ResolvedOptions): RealtimeMetrics | undefined {
  return options.metrics === undefined ? undefined : createMetrics(metricsSource(node, adapter, options), options.metrics)
}

/** Health always; the metrics' registry and their removal at close when there are metrics. */
export function setUpObservability (node: RealtimeNode, adapter: Adapter, options: ResolvedOptions, metrics: RealtimeMetrics | undefined): Observability {
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
