// fastify-realtime with its defaults, JWT on, limits raised so the load is
// not refused. Loaded from the build in dist/ (npm run build), or from the
// build REALTIME_DIST names (a baseline built from another commit, see
// bench/channels.mjs). REALTIME_CHANNELS=0 leaves the channel namespace out
// (a build from before channels refuses the option).
// METRICS=1 (the runner's `fastify-realtime+metrics` target): the same with
// `metrics: true`, scraped every SCRAPE_INTERVAL_MS (15 s, a common Prometheus
// scrape_interval); the `scrape` command times one scrape on its own.
import Fastify from 'fastify'
import { createRequire } from 'node:module'
import { SECRET } from '../lib/common.mjs'
import { CHANNEL_NAMESPACE } from '../lib/channel-plan.mjs'
import { runTarget, HOST, portFromEnv } from '../lib/target.mjs'

const require = createRequire(import.meta.url)
const mod = require(process.env.REALTIME_DIST ?? '../../dist/index.js')
const realtime = mod.default ?? mod.fastifyRealtime ?? mod
const hasChannels = process.env.REALTIME_CHANNELS !== '0'

const withMetrics = process.env.METRICS === '1'
const app = Fastify({ logger: false })
await app.register(realtime, {
  metrics: withMetrics,
  jwt: { secret: SECRET },
  maxConnections: 100_000,
  maxConnectionsPerUser: 100_000,
  rateLimit: { max: 1e9, windowMs: 60_000 },
  // the failed-handshake bound (failedHandshakeLimit) stays on with its default: it is a
  // security default and part of the cost; it never counts successful handshakes
  // an open namespace: what is measured is delivery, not an authorize of the host's
  ...(hasChannels ? { channels: { [CHANNEL_NAMESPACE]: {} } } : {})
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
  ...(hasChannels ? { publish: (channel, type, data) => app.realtime.publish(channel, { type, data }) } : {}),
  stats: () => app.realtime.stats()
})
