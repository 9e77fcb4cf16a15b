// The nodes of bench/redis-throughput.mjs, alike in the runner's process
// (the publishing node, the one-process setting) and in the receiving
// node's own (bench/lib/redis-throughput-node.mjs).
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))))
const Fastify = require('fastify')
const { Redis } = require('ioredis')
const realtime = require(path.join(root, 'dist', 'index.js'))

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const SECRET = 'bench-secret-that-is-long-enough-for-hs256'
// a loaded machine answers a window of single PUBLISHes slowly: a run measures throughput, not the default 2 s timeout
const COMMAND_TIMEOUT_MS = 30_000

function adapterOf (setting, keyPrefix) {
  if (setting === 'local') return undefined
  if (setting === 'autopipeline') {
    // the adapter opens its connections with client.duplicate(), which keeps enableAutoPipelining
    const client = new Redis(REDIS_URL, { lazyConnect: true, enableAutoPipelining: true })
    return { adapter: realtime.redisAdapter({ client, keyPrefix, publishBatching: false, commandTimeoutMs: COMMAND_TIMEOUT_MS }), client }
  }
  return { adapter: realtime.redisAdapter({ url: REDIS_URL, keyPrefix, publishBatching: setting === 'on', commandTimeoutMs: COMMAND_TIMEOUT_MS }) }
}

/** One node of `setting` (local: the memory adapter), listening on a port of its own; close() also ends its Redis client. */
export async function startRedisThroughputNode (setting, keyPrefix) {
  const made = adapterOf(setting, keyPrefix)
  const app = Fastify()
  await app.register(realtime.fastifyRealtime, {
    jwt: SECRET,
    channels: { tp: {} },
    maxConnections: 10_000,
    maxConnectionsPerUser: 10_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
    handshakeRateLimit: false,
    ...(made === undefined ? {} : { adapter: made.adapter })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    close: async () => {
      await app.close()
      made?.client?.disconnect()
    }
  }
}
