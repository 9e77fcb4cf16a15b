import type { Counters } from '../stats.js'
import type { AdapterHealth } from '../adapters/adapter.js'
import { InvalidOptionsError, MetricsDependencyMissingError } from '../errors.js'
import {
  CHANNEL_PRESENCE_CHANGES, channelPresenceKey, KNOWN_REFUSAL_REASONS, KNOWN_WIRE_CODES, OTHER, RECOVERY_INBOX, RECOVERY_OUTCOMES, recoveryKey, type Tally
} from './labels.js'

/**
 * The part of a prom-client Registry the plugin uses (a structural type, so
 * the package's public types do not depend on prom-client's).
 */
export interface MetricsRegistry {
  readonly contentType: string
  /** The exposition text of every metric in the registry. */
  metrics (): Promise<string>
  registerMetric (metric: object): void
  getSingleMetric (name: string): unknown
  removeSingleMetric (name: string): void
}

export interface MetricsOptions {
  /** A prom-client 15 Registry of the host's (fastify-metrics' one, say); the plugin makes its own when left out. */
  registry?: MetricsRegistry
  /** Prefix of every metric name. Default `realtime_`. */
  prefix?: string
}

export interface ResolvedMetricsOptions {
  readonly registry: MetricsRegistry | undefined
  readonly prefix: string
}

/** What the metrics read at scrape time: the node's own counters and state, nothing kept twice. */
export interface MetricsSource {
  readonly counters: Counters
  connections (): number
  users (): number
  /** Subscriber count by event, for events that have subscribers. */
  subscriptions (): Record<string, number>
  /** The declared events: the only `event` label values. */
  readonly events: ReadonlySet<string>
  /** The declared channel namespaces: the only `namespace` label values. */
  readonly namespaces: readonly string[]
  /** The namespaces that keep presence (`presence: true` or `'count'`). */
  readonly presenceNamespaces: readonly string[]
  /** Memberships (connection in channel) by namespace, for namespaces with any. */
  channelSubscriptions (): ReadonlyMap<string, number>
  /** Declared message types, shown at 0 before the first one arrives. */
  readonly messageTypes: readonly string[]
  bufferedBytes (): number
  eventLoopDelayMs (): { mean: number, p99: number, max: number }
  adapterHealth (): AdapterHealth
  /** The slowConsumer option: every slow-consumer event of the node is this action. */
  readonly slowConsumerAction: 'close' | 'drop'
}

/** What the node's hot paths call, each behind one `metrics !== undefined` check. */
export interface NodeMetrics {
  /** app.realtime call -> the last local socket write, in seconds. */
  observeDelivery (seconds: number): void
  /** Publish on another node -> the last socket write here, in seconds. */
  observeClusterDelivery (seconds: number): void
  observeHandshake (seconds: number, result: 'accepted' | 'refused'): void
}

export interface RealtimeMetrics extends NodeMetrics {
  readonly registry: MetricsRegistry
  /** Takes the plugin's metrics out of the registry (a host's registry outlives the app). */
  unregister (): void
}

const DEFAULT_METRICS_PREFIX = 'realtime_'
const PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,63}$/

/** `metrics: true | { registry?, prefix? }`, checked like every option: problems are pushed, never thrown. */
export function checkMetricsOption (value: unknown, problems: string[]): ResolvedMetricsOptions | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return Object.freeze({ registry: undefined, prefix: DEFAULT_METRICS_PREFIX })
  if (value === null || typeof value !== 'object') {
    problems.push('metrics must be true, false or { registry?, prefix? }')
    return undefined
  }
  const { registry, prefix = DEFAULT_METRICS_PREFIX, ...rest } = value as { registry?: unknown, prefix?: unknown }
  for (const key of Object.keys(rest)) problems.push(`metrics.${key} is not an option`)
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    problems.push('metrics.prefix must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*, at most 64 characters)')
  }
  if (registry !== undefined && !isRegistry(registry)) {
    problems.push('metrics.registry must be a prom-client Registry')
  }
  return Object.freeze({ registry: registry as MetricsRegistry | undefined, prefix: prefix as string })
}

function isRegistry (value: unknown): value is MetricsRegistry {
  const candidate = value as Partial<MetricsRegistry> | null
  return candidate !== null && typeof candidate === 'object' &&
    typeof candidate.registerMetric === 'function' && typeof candidate.metrics === 'function' &&
    typeof candidate.removeSingleMetric === 'function'
}

type PromClient = typeof import('prom-client')

function loadPromClient (): PromClient {
  try {
    // loaded here, not at the top: hosts without metrics never need prom-client installed
    return require('prom-client') as PromClient
  } catch (err) {
    /* c8 ignore next */ // only a missing prom-client is ours to explain
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    throw new MetricsDependencyMissingError()
  }
}

/** Local fan-out: one socket takes microseconds, ten thousand tens of milliseconds. */
const DELIVERY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
/** Across nodes: a Redis hop plus the remote fan-out, and the clocks of two machines. */
const CLUSTER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** The checks before the upgrade: a token, an authenticate hook, a cluster slot. */
const HANDSHAKE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * The plugin's Prometheus metrics. Gauges and counters are read from the
 * node when the registry is scraped (collect callbacks), so no metric code
 * runs per message; only the three histograms are observed as things happen.
 */
export function createMetrics (source: MetricsSource, options: ResolvedMetricsOptions): RealtimeMetrics {
  const client = loadPromClient()
  const registry = (options.registry ?? new client.Registry()) as unknown as InstanceType<PromClient['Registry']>
  const registers = [registry]
  const p = options.prefix
  const { counters } = source
  const names: string[] = []

  // each metric is registered as it is made: on a clash, those made so far come out again
  function make<T extends object> (build: () => T, name: string): T {
    try {
      const metric = build()
      names.push(name)
      return metric
    } catch (err) {
      for (const made of names) registry.removeSingleMetric(made)
      throw new InvalidOptionsError(`metrics: ${(err as Error).message} (give each fastify-realtime on one registry its own metrics.prefix)`)
    }
  }

  const gauge = (name: string, help: string, read: () => number): void => {
    make(() => new client.Gauge({ name: p + name, help, registers, collect () { this.set(read()) } }), p + name)
  }
  const counter = (name: string, help: string, read: () => number): void => {
    make(() => new client.Counter({
      name: p + name,
      help,
      registers,
      collect () {
        this.reset()
        this.inc(read())
      }
    }), p + name)
  }
  const labelledCounter = (name: string, help: string, label: string, read: () => Tally, known: readonly string[] = []): void => {
    make(() => new client.Counter({
      name: p + name,
      help,
      labelNames: [label],
      registers,
      collect () {
        this.reset()
        for (const value of known) this.inc({ [label]: value }, 0)
        const tally = read()
        for (const [value, count] of Object.entries(tally)) this.inc({ [label]: value }, count)
      }
    }), p + name)
  }

  gauge('connections', 'Open connections on this node', () => source.connections())
  gauge('users', 'Distinct users with a connection on this node', () => source.users())
  gauge('buffered_bytes', 'Bytes written to this node\'s sockets and not yet sent', () => source.bufferedBytes())
  gauge('adapter_connected', '1 while the cluster adapter reaches the other nodes (always 1 for the in-memory adapter)', () => source.adapterHealth().connected ? 1 : 0)
  make(() => new client.Gauge({
    name: p + 'subscriptions',
    help: 'Subscriptions on this node by declared event',
    labelNames: ['event'],
    registers,
    collect () {
      this.reset()
      const counts = source.subscriptions()
      for (const event of source.events) this.set({ event }, counts[event] ?? 0)
    }
  }), p + 'subscriptions')
  make(() => new client.Gauge({
    name: p + 'channel_subscriptions',
    help: 'Connections in channels on this node (one per connection and channel), by declared namespace',
    labelNames: ['namespace'],
    registers,
    collect () {
      this.reset()
      const counts = source.channelSubscriptions()
      for (const namespace of source.namespaces) this.set({ namespace }, counts.get(namespace) ?? 0)
    }
  }), p + 'channel_subscriptions')
  make(() => new client.Gauge({
    name: p + 'event_loop_delay_seconds',
    help: 'Event loop delay over the last sweep tick (the figure maxEventLoopDelayMs sheds connections on is the mean)',
    labelNames: ['stat'],
    registers,
    collect () {
      const delay = source.eventLoopDelayMs()
      this.set({ stat: 'mean' }, delay.mean / 1000)
      this.set({ stat: 'p99' }, delay.p99 / 1000)
      this.set({ stat: 'max' }, delay.max / 1000)
    }
  }), p + 'event_loop_delay_seconds')

  counter('connections_opened_total', 'Connections accepted by this node', () => counters.connectionsOpened)
  labelledCounter('handshakes_refused_total', 'Handshakes refused before the upgrade, by reason', 'reason', () => counters.refusalsByReason, KNOWN_REFUSAL_REASONS)
  labelledCounter('connections_closed_total', 'Connections closed, by close code (known codes; anything else is "other")', 'code', () => counters.closesByCode)
  labelledCounter('messages_received_total', 'Client messages by declared type ("unknown": not JSON, no type, or an undeclared one)', 'type', () => counters.messagesByType, source.messageTypes)
  labelledCounter('errors_sent_total', 'Error frames sent to clients, by wire code', 'code', () => counters.errorsByCode, KNOWN_WIRE_CODES)
  counter('messages_sent_total', 'Messages written to sockets (replies and deliveries)', () => counters.messagesOut)
  labelledCounter('deliveries_total', 'app.realtime deliveries by target (all, event, users, connection, channel)', 'target', () => counters.deliveriesByTarget, ['all', 'event', 'users', 'connection', 'channel'])
  counter('rate_limited_total', 'Client messages refused with RATE_LIMIT_EXCEEDED', () => counters.rateLimited)
  make(() => new client.Counter({
    name: p + 'slow_consumer_total',
    help: 'Messages dropped for, or connections closed on, clients that stopped reading (action: the slowConsumer option)',
    labelNames: ['action'],
    registers,
    collect () {
      this.reset()
      this.inc({ action: source.slowConsumerAction }, counters.slowConsumerEvents)
    }
  }), p + 'slow_consumer_total')
  counter('heartbeat_timeouts_total', 'Connections closed for showing no sign of life', () => counters.heartbeatTimeouts)
  counter('adapter_publish_failures_total', 'Publishes to the other nodes that the adapter refused (delivered locally only)', () => counters.publishFailures)
  counter('adapter_reconnects_total', 'Times the cluster adapter got its connection back after losing it', () => source.adapterHealth().reconnects ?? 0)
  labelledCounter('presence_user_changes_total', 'Users going online or offline, as decided by this node (each change is decided by one node of the cluster)', 'status', () => counters.userStatusChanges, ['online', 'offline'])
  make(() => new client.Counter({
    name: p + 'presence_channel_changes_total',
    help: 'Users joining or leaving channels of namespaces with presence, as decided by this node (one node per change), by namespace',
    labelNames: ['namespace', 'change'],
    registers,
    collect () {
      this.reset()
      const tally = counters.channelPresenceChanges
      for (const namespace of source.presenceNamespaces) {
        for (const change of CHANNEL_PRESENCE_CHANGES) this.inc({ namespace, change }, tally[channelPresenceKey(namespace, change)] ?? 0)
      }
    }
  }), p + 'presence_channel_changes_total')
  make(() => new client.Counter({
    name: p + 'recoveries_total',
    help: 'Streams answered in recovery.result, by kind (a channel\'s namespace, or the inbox) and result (recovered, or why not)',
    labelNames: ['stream', 'namespace', 'result'],
    registers,
    collect () {
      this.reset()
      const tally = counters.recoveries
      const count = (labels: { stream: string, namespace?: string }, kind: string): void => {
        for (const result of RECOVERY_OUTCOMES) this.inc({ ...labels, result }, tally[recoveryKey(kind, result)] ?? 0)
        const other = tally[recoveryKey(kind, OTHER)]
        if (other !== undefined) this.inc({ ...labels, result: OTHER }, other)
      }
      for (const namespace of source.namespaces) count({ stream: 'channel', namespace }, namespace)
      count({ stream: 'inbox' }, RECOVERY_INBOX)
    }
  }), p + 'recoveries_total')
  counter('cluster_messages_received_total', 'Messages other nodes published that this node applied', () => counters.clusterMessagesReceived)

  const delivery = make(() => new client.Histogram({
    name: p + 'delivery_latency_seconds',
    help: 'app.realtime call to the last socket write on this node',
    buckets: DELIVERY_BUCKETS,
    registers
  }), p + 'delivery_latency_seconds')
  const cluster = make(() => new client.Histogram({
    name: p + 'cluster_delivery_latency_seconds',
    help: 'Publish on another node to the last socket write on this node (wall clocks of two machines)',
    buckets: CLUSTER_BUCKETS,
    registers
  }), p + 'cluster_delivery_latency_seconds')
  const handshake = make(() => new client.Histogram({
    name: p + 'handshake_duration_seconds',
    help: 'The plugin\'s checks before the upgrade (token, authenticate hook, cluster slot), by result',
    labelNames: ['result'],
    buckets: HANDSHAKE_BUCKETS,
    registers
  }), p + 'handshake_duration_seconds')

  return {
    registry: registry as unknown as MetricsRegistry,
    observeDelivery: (seconds) => delivery.observe(seconds),
    observeClusterDelivery: (seconds) => cluster.observe(Math.max(0, seconds)),
    observeHandshake: (seconds, result) => handshake.observe({ result }, seconds),
    unregister () {
      for (const name of names) registry.removeSingleMetric(name)
    }
  }
}
