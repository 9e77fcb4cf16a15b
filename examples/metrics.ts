import Fastify, { type FastifyInstance } from 'fastify'

/**
 * GET /metrics on a listener of its own (METRICS_PORT, 127.0.0.1 by
 * default): Prometheus scrapes it over the internal network, and the public
 * port never exposes it. A bearer token, as the stats route uses, would need
 * Prometheus to hold a user's JWT that expires in an hour.
 */
export function buildMetricsServer (app: FastifyInstance): FastifyInstance {
  const server = Fastify({ logger: false })
  server.get('/metrics', async (_request, reply) => {
    const registry = app.realtime.metricsRegistry
    if (registry === undefined) return reply.code(404).send({ message: 'metrics are off (realtime option metrics: false)' })
    reply.type(registry.contentType)
    return registry.metrics()
  })
  return server
}
