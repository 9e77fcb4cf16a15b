// The server of bench/workers.mjs: a node:cluster primary (driven by
// the runner over JSON lines, bench/lib/child.mjs) and its WORKERS workers,
// all on one port, built from dist/. ADAPTER=ipc (clusterIpcAdapter +
// clusterPrimary) or redis (REDIS_URL, KEY_PREFIX). Workers exit with the
// primary (node:cluster closes their IPC channel); the primary also kills
// them by PID on its way out.
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveControl, reply, now, payload, SECRET, EVENT } from './common.mjs'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const realtime = require(path.join(root, 'dist', 'index.js'))
const WORKERS = Number(process.env.WORKERS ?? 2)
const ADAPTER = process.env.ADAPTER ?? 'ipc'
const PAGE = 4096

function rssOf (pid) {
  // statm: size resident ... in pages
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE
}

function primary () {
  const hub = ADAPTER === 'ipc' ? realtime.clusterPrimary() : undefined
  const asks = new Map()
  let nextAsk = 0
  let listening = 0
  cluster.on('message', (_worker, message) => {
    if (typeof message?.benchReply !== 'number') return
    asks.get(message.benchReply)?.(message)
    asks.delete(message.benchReply)
  })
  const workers = () => Object.values(cluster.workers)
  const ask = (worker, op, args = {}) => new Promise((resolve) => {
    const ref = ++nextAsk
    asks.set(ref, resolve)
    worker.send({ benchAsk: ref, op, ...args })
  })
  process.on('exit', () => {
    for (const worker of workers()) try { process.kill(worker.process.pid, 'SIGKILL') } catch {}
  })
  cluster.on('exit', (worker, code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(`worker ${worker.id} exited with ${code ?? signal}\n`)
  })
  cluster.on('listening', (_worker, address) => {
    if (++listening < WORKERS) return
    serveControl({
      /** One broadcast from worker 1 to every subscriber of every worker; `at` is when it was asked (shared clock). */
      broadcast: async ({ seq, bytes }) => {
        const at = now()
        const answer = await ask(workers()[0], 'broadcast', { seq, bytes })
        return { at, local: answer.local, error: answer.error }
      },
      /** Connections per worker and the RSS of every process of the server. */
      stats: async () => {
        const answers = await Promise.all(workers().map(worker => ask(worker, 'stats')))
        const rss = workers().map(worker => rssOf(worker.process.pid))
        return { connections: answers.map(a => a.connections), rss, primaryRss: rssOf(process.pid), hub: hub?.hub.stats() }
      },
      exit: () => { setImmediate(() => process.exit(0)); return {} }
    }, { maxLifeMs: Number(process.env.MAX_LIFE_MS ?? 20 * 60_000) })
    reply({ ready: true, port: address.port, pid: process.pid, workers: workers().map(w => w.process.pid) })
  })
  for (let i = 0; i < WORKERS; i++) cluster.fork()
}

async function worker () {
  const Fastify = require('fastify')
  const app = Fastify()
  await app.register(realtime.fastifyRealtime, {
    jwt: SECRET,
    handshakeRateLimit: false,
    maxConnections: 1_000_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
    adapter: ADAPTER === 'redis'
      ? realtime.redisAdapter({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: process.env.KEY_PREFIX })
      : realtime.clusterIpcAdapter()
  })
  process.on('message', (message) => {
    if (typeof message?.benchAsk !== 'number') return
    const ref = message.benchAsk
    if (message.op === 'stats') {
      process.send({ benchReply: ref, connections: app.realtime.stats().connections })
      return
    }
    const data = { message: payload(message.seq, message.bytes), level: 'info', timestamp: new Date().toISOString() }
    app.realtime.broadcastToSubscribers(EVENT, { type: EVENT, data }).then(
      (local) => process.send({ benchReply: ref, local }),
      (err) => process.send({ benchReply: ref, error: String(err) })
    )
  })
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', backlog: 4096 })
}

if (cluster.isPrimary) primary()
else worker().catch((err) => { console.error(err); process.exit(1) })
