// Every core of one machine: one node:cluster worker per core, all on one
// port, acting as one realtime server. Without REDIS_URL the workers share
// their state through the primary (clusterIpcAdapter + clusterPrimary); with
// it, through Redis (also across machines). See docs/cluster.md.
//
//   npm run build && JWT_SECRET=... node examples/dist/cluster.js
//   curl -X POST localhost:3000/notify/alice   # reaches alice on whichever worker holds her
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import Fastify from 'fastify'
import realtime, { clusterIpcAdapter, clusterPrimary, redisAdapter } from 'fastify-realtime'

const WORKERS = Number(process.env.WORKERS ?? availableParallelism())
const PORT = Number(process.env.PORT ?? 3000)
const REDIS_URL = process.env.REDIS_URL

function startPrimary (): void {
  // the relay and the shared state live here; with Redis, Redis holds them
  if (REDIS_URL === undefined) clusterPrimary()
  for (let i = 0; i < WORKERS; i++) cluster.fork()
  cluster.on('exit', (worker, code, signal) => {
    // its connections' slots and presence are already freed: start another in its place
    if (worker.exitedAfterDisconnect) return
    console.error(`worker ${worker.process.pid} died (${signal ?? code}); starting another`)
    cluster.fork()
  })
}

async function startWorker (): Promise<void> {
  const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
  await app.register(realtime, {
    jwt: process.env.JWT_SECRET ?? 'development-secret-change-me-0123456789',
    maxConnectionsPerUser: 5,
    presence: true,
    channels: { room: {} },
    adapter: REDIS_URL === undefined ? clusterIpcAdapter() : redisAdapter({ url: REDIS_URL })
  })
  app.post<{ Params: { userId: string } }>('/notify/:userId', async (request) => {
    await app.realtime.sendToUser(request.params.userId, {
      type: 'system.notification',
      data: { message: `hello from worker ${process.pid}`, level: 'info', timestamp: new Date().toISOString() }
    })
    return { online: await app.realtime.isOnline(request.params.userId) }
  })
  // every worker listens on the same port: the primary hands each new connection to one of them
  await app.listen({ port: PORT, host: process.env.HOST ?? '127.0.0.1' })
}

if (cluster.isPrimary) {
  startPrimary()
} else {
  startWorker().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
