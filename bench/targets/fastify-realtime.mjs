// fastify-realtime with its defaults, JWT on, limits raised so the load is
// not refused. Loaded from the build in dist/ (npm run build).
// METRICS=1 (the runner's `fastify-realtime+metrics` target): the same with
// `metrics: true`, scraped every SCRAPE_INTERVAL_MS (15 s, a common Prometheus
// scrape_interval); the `scrape` command times one scrape on its own.
import Fastify from 'fastify'
import { createRequire } from 'node:module'
import { SECRET } from '../lib/common.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const require = createRequire(import.meta.url)
const mod = require('../../dist/index.js')
const realtime = mod.default ?? mod.fastifyRealtime ?? mod

const withMetrics = process.env.METRICS === '1'
const app = Fastify({ logger: false })
await app.register(realtime, {
  metrics: withMetrics,
  jwt: { secret: SECRET },
  maxConnections: 100_000,
  maxConnectionsPerUser: 100_000,
  rateLimit: { max: 1e9, windowMs: 60_000 },
  // the per-IP handshake limit stays on (it is a default, and part of the cost), raised
  handshakeRateLimit: { max: 1e9, timeWindowMs: 60_000 }
})
await app.listen({ port: portFromEnv(), host: HOST })
if (withMetrics) {
  const every = Number(process.env.SCRAPE_INTERVAL_MS ?? 15_000)
  setInterval(() => { app.realtime.metricsRegistry.metrics().catch((err) => process.stderr.write(`scrape failed: ${err}\n`)) }, every).unref()
}
/** One scrape's server CPU and wall time, and the size of the text. */
async function scrape () {
  const cpu = process.cpuUsage()
  const startedAt = performance.now()
  const text = await app.realtime.metricsRegistry.metrics()
  const used = process.cpuUsage(cpu)
  return { scrapeCpuUs: used.user + used.system, scrapeMs: performance.now() - startedAt, scrapeBytes: text.length }
}
runTarget(withMetrics ? 'fastify-realtime+metrics' : 'fastify-realtime', {
  scrape: withMetrics ? scrape : undefined,
  port: app.server.address().port,
  broadcast: (event, data) => app.realtime.broadcastToSubscribers(event, { type: event, data }),
  stats: () => app.realtime.stats()
})
