import t from 'tap'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../examples/app.js'
import { buildMetricsServer } from '../../examples/metrics.js'
import { openSocket } from '../helpers/client.js'
import { scrapeUrl } from './support.js'

const DASHBOARD = resolve(__dirname, '..', '..', 'examples', 'grafana', 'fastify-realtime.json')
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/

/** Every string under a key named `expr`, `query` or `definition`: what Grafana sends to Prometheus. */
function queries (node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) queries(item, found)
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') found.push(value)
      else queries(value, found)
    }
  }
  return found
}

t.test('every metric the Grafana dashboard queries is in a scrape of the example app, and every plugin metric is on it', async (t) => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as unknown
  const exprs = queries(dashboard)
  t.ok(exprs.length > 20, `${exprs.length} queries`)
  const queried = new Set(exprs.flatMap(expr => [...expr.matchAll(/\brealtime_[a-z0-9_]+/g)].map(m => m[0])))

  const app = await buildApp({ jwtSecret: 'dashboard-test-secret' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const metrics = buildMetricsServer(app)
  await metrics.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => metrics.close())
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  // some traffic, so labelled series exist: a handshake, messages, a delivery
  const token = ((await (await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'ops' }) })).json()) as { token: string }).token
  const client = await openSocket(`${base.replace('http', 'ws')}/api/v1/ws/${token}`)
  t.teardown(() => client.close())
  await client.next('connection.established')
  await client.request({ type: 'ping', data: {} }, 'pong')
  await app.realtime.broadcastToAll({ type: 'hello', data: {} })

  const scrape = await scrapeUrl(`http://127.0.0.1:${(metrics.server.address() as AddressInfo).port}/metrics`)
  // a series, or at least its family (connections_closed_total has no series before the first close)
  for (const name of queried) t.ok(scrape.has(name) || scrape.types.has(name), `${name} is in the scrape`)
  const families = [...scrape.types.keys()].filter(name => name.startsWith('realtime_'))
  const queriedFamilies = new Set([...queried].map(name => scrape.types.has(name) ? name : name.replace(HISTOGRAM_SUFFIX, '')))
  for (const family of families) t.ok(queriedFamilies.has(family), `${family} is on the dashboard`)
})
