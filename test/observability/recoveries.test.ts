import t from 'tap'
import { Registry } from 'prom-client'
import { createMetrics, type MetricsRegistry, type MetricsSource } from '../../lib/observability/metrics.js'
import { Counters } from '../../lib/stats.js'
import { Scrape, startMetricsServer } from './support.js'

const P = 'realtime_'
const RESULTS = ['epoch_changed', 'forbidden', 'no_history', 'recovered', 'too_many', 'too_old', 'unavailable']

/** The metrics over a bare Counters, as the node builds them, scraped from their own registry. */
function metricsOf (counters: Counters, namespaces: string[]): { scrape: () => Promise<Scrape>, unregister: () => void } {
  const source: MetricsSource = {
    counters,
    connections: () => 0,
    users: () => 0,
    subscriptions: () => ({}),
    events: new Set(),
    namespaces,
    presenceNamespaces: [],
    channelSubscriptions: () => new Map(),
    messageTypes: [],
    bufferedBytes: () => 0,
    eventLoopDelayMs: () => ({ mean: 0, p99: 0, max: 0 }),
    adapterHealth: () => ({ connected: true }),
    slowConsumerAction: 'close'
  }
  const registry = new Registry() as unknown as MetricsRegistry
  const metrics = createMetrics(source, { registry, prefix: P })
  return { scrape: async () => new Scrape(await registry.metrics()), unregister: () => metrics.unregister() }
}

t.test('recoveries_total is on every scrape at 0: each declared namespace and the inbox, each result', async (t) => {
  const server = await startMetricsServer(t, { realtime: { channels: { review: {}, lobby: {} } } })
  const scrape = await server.scrape()
  t.same(scrape.labelValues(`${P}recoveries_total`, 'result'), RESULTS)
  t.same(scrape.labelValues(`${P}recoveries_total`, 'namespace'), ['lobby', 'review'])
  t.same(scrape.labelValues(`${P}recoveries_total`, 'stream'), ['channel', 'inbox'])
  t.equal(scrape.samples.filter(s => s.name === `${P}recoveries_total`).length, 3 * RESULTS.length)
  t.ok(scrape.samples.filter(s => s.name === `${P}recoveries_total`).every(s => s.value === 0), 'nothing recovered yet')
})

t.test('countRecoveries tallies each stream of a recovery.result frame under its namespace or the inbox', async (t) => {
  const counters = new Counters()
  const metrics = metricsOf(counters, ['review', 'lobby'])
  t.teardown(metrics.unregister)
  counters.countRecoveries({
    'review:1': { recovered: true },
    'review:2': { recovered: false, reason: 'too_old' },
    'lobby:x': { recovered: false, reason: 'forbidden' },
    inbox: { recovered: false, reason: 'epoch_changed' }
  })
  counters.countRecoveries({ 'review:1': { recovered: true }, inbox: { recovered: true } })
  counters.countRecovery('review', 'no_history')
  // what a later protocol might send, or a namespace this node does not declare: never a new series
  counters.countRecoveries({ 'review:3': { recovered: false, reason: 'made_up' }, 'gone:1': { recovered: true } })

  const scrape = await metrics.scrape()
  const value = (labels: Record<string, string>): number => scrape.value(`${P}recoveries_total`, labels)
  t.equal(value({ stream: 'channel', namespace: 'review', result: 'recovered' }), 2)
  t.equal(value({ stream: 'channel', namespace: 'review', result: 'too_old' }), 1)
  t.equal(value({ stream: 'channel', namespace: 'review', result: 'no_history' }), 1)
  t.equal(value({ stream: 'channel', namespace: 'lobby', result: 'forbidden' }), 1)
  t.equal(value({ stream: 'inbox', result: 'epoch_changed' }), 1)
  t.equal(value({ stream: 'inbox', result: 'recovered' }), 1)
  t.equal(value({ stream: 'channel', namespace: 'review', result: 'other' }), 1, 'an unknown reason is "other"')
  t.same(scrape.labelValues(`${P}recoveries_total`, 'namespace'), ['lobby', 'review'], 'an undeclared namespace adds no label')
  const total = scrape.samples.filter(s => s.name === `${P}recoveries_total`).reduce((sum, s) => sum + s.value, 0)
  t.equal(total, 8, 'every counted stream of a declared namespace or the inbox, once')
})
