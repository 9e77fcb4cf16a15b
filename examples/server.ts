import closeWithGrace from 'close-with-grace'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { redisAdapter } from 'fastify-realtime'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { buildMetricsServer } from './metrics.js'

async function main (): Promise<void> {
  const config = loadConfig()
  // the plugin's metrics and Node's own (CPU, memory, GC, event loop lag) in one registry
  const metricsRegistry = new Registry()
  collectDefaultMetrics({ register: metricsRegistry })
  const app = await buildApp({
    jwtSecret: config.jwtSecret,
    metricsRegistry,
    // with REDIS_URL, servers sharing one Redis act as one realtime server (docs/scaling.md)
    realtime: config.redisUrl === undefined ? config.realtime : { ...config.realtime, adapter: redisAdapter({ url: config.redisUrl }) },
    logger: { level: process.env.LOG_LEVEL ?? 'info' }
  })
  if (config.isDevelopmentSecret) {
    app.log.warn('JWT_SECRET is not set: using a development secret. Set JWT_SECRET before exposing this server.')
  }
  // SIGTERM/SIGINT: close every client with 1001, then exit (forced after 10 s)
  closeWithGrace({ delay: 10000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down')
    await metricsServer.close()
    await app.close()
  })
  const metricsServer = buildMetricsServer(app)
  await app.listen({ port: config.port, host: config.host })
  await metricsServer.listen({ port: config.metricsPort, host: config.metricsHost })
  app.log.info(`metrics: http://${config.metricsHost}:${config.metricsPort}/metrics`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
