// fastify-realtime with its defaults, JWT on, limits raised so the load is
// not refused. Loaded from the build in dist/ (npm run build).
// METRICS=1 (the runner's `fastify-realtime+metrics` target): the same with
// `metrics: true`, scraped once a second (Prometheus usually scrapes every
// 15 to 60 s: the scrape's cost is counted more often than it would be).
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
  setInterval(() => { app.realtime.metricsRegistry.metrics().catch((err) => process.stderr.write(`scrape failed: ${err}\n`)) }, 1000).unref()
}
runTarget(withMetrics ? 'fastify-realtime+metrics' : 'fastify-realtime', {
  port: app.server.address().port,
  broadcast: (event, data) => app.realtime.broadcastToSubscribers(event, { type: event, data }),
  stats: () => app.realtime.stats()
})
