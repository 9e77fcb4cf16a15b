// Cross-node delivery through Redis against the same message delivered in one process.
//
//   npm run build && node bench/cluster.mjs [--write]
//
// Env: REDIS_URL (default redis://127.0.0.1:6379), LATENCY_N (2000), THROUGHPUT_N (20000),
// WINDOW (messages in flight during the throughput run, 500), PAYLOAD_BYTES (256).
//
// Latency: one message at a time, from the sendToUser() call to the client's
// receipt. Local: the user's socket is on the calling node. Redis: it is on
// another node (same process, its own Redis connections), so the message goes
// node A -> Redis -> node B -> socket. Throughput: WINDOW messages in flight,
// counted at the client. Everything runs in this one process on loopback, so
// the figures are the cost of the hop, not of a network.
// --write writes the raw data to bench/results/cluster-full-<date>.jsonl and renders bench/RESULTS.md again.
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { cpus, loadavg, platform, arch } from 'node:os'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const Fastify = require('fastify')
const WebSocket = require('ws')
const { createSigner } = require('fast-jwt')
const { Redis } = require('ioredis')
const realtime = require(path.join(root, 'dist', 'index.js'))

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const LATENCY_N = Number(process.env.LATENCY_N ?? 2000)
const THROUGHPUT_N = Number(process.env.THROUGHPUT_N ?? 20000)
const WINDOW = Number(process.env.WINDOW ?? 500)
const PAYLOAD_BYTES = Number(process.env.PAYLOAD_BYTES ?? 256)
const WARMUP = 300
const SECRET = 'bench-secret-that-is-long-enough-for-hs256'
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
const filler = 'x'.repeat(PAYLOAD_BYTES)

async function startNode (adapter) {
  const app = Fastify()
  await app.register(realtime.fastifyRealtime, {
    jwt: SECRET,
    adapter,
    handshakeRateLimit: false,
    maxBufferedBytes: 64 * 1024 * 1024,
    rateLimit: { max: 1_000_000, windowMs: 60_000 }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** A client whose every non-handshake message resolves the next waiter; counts receipts. */
async function connect (app, userId) {
  const ws = new WebSocket(`ws://127.0.0.1:${app.server.address().port}/ws/${sign({ sub: userId })}`)
  const client = { ws, received: 0, onMessage: undefined }
  ws.on('message', (raw) => {
    if (client.received === -1) return
    const text = raw.toString()
    if (text.includes('"connection.established"')) return
    client.received++
    client.onMessage?.()
  })
  await once(ws, 'open')
  return client
}

function nextReceipt (client) {
  return new Promise(resolve => { client.onMessage = resolve })
}

function message (i) {
  return { type: 'system.notification', data: { message: `m${i}`, level: 'info', filler } }
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function measureLatency (sender, client, userId) {
  for (let i = 0; i < WARMUP; i++) {
    const got = nextReceipt(client)
    await sender.realtime.sendToUser(userId, message(i))
    await got
  }
  const samples = []
  for (let i = 0; i < LATENCY_N; i++) {
    const got = nextReceipt(client)
    const started = performance.now()
    await sender.realtime.sendToUser(userId, message(i))
    await got
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

async function measureThroughput (sender, client, userId) {
  client.onMessage = undefined
  const startCount = client.received
  let sent = 0
  const started = performance.now()
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (sent < THROUGHPUT_N && sent - (client.received - startCount) < WINDOW) {
        sender.realtime.sendToUser(userId, message(sent++)).catch(reject)
      }
    }
    client.onMessage = () => {
      if (client.received - startCount >= THROUGHPUT_N) resolve()
      else if (sent - (client.received - startCount) < WINDOW / 2) pump()
    }
    pump()
  })
  const seconds = (performance.now() - started) / 1000
  client.onMessage = undefined
  return THROUGHPUT_N / seconds
}

async function redisRoundTrip () {
  const client = new Redis(REDIS_URL)
  const samples = []
  for (let i = 0; i < 2000; i++) {
    const started = performance.now()
    await client.ping()
    if (i >= 200) samples.push(performance.now() - started)
  }
  client.disconnect()
  samples.sort((a, b) => a - b)
  return percentile(samples, 50)
}

async function main () {
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${platform()} ${arch()}; ${new Date().toISOString()}; loadavg at start ${loadavg().map(l => l.toFixed(2)).join(' ')}`
  const ping = await redisRoundTrip()

  // one process, the default in-memory adapter
  const single = await startNode(undefined)
  const localClient = await connect(single, 'local-user')
  const localLatency = await measureLatency(single, localClient, 'local-user')
  const localRate = await measureThroughput(single, localClient, 'local-user')
  localClient.ws.close()
  await single.close()

  // two nodes sharing one Redis; the client is on B, the sender is A
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}`
  const a = await startNode(realtime.redisAdapter({ url: REDIS_URL, keyPrefix }))
  const b = await startNode(realtime.redisAdapter({ url: REDIS_URL, keyPrefix }))
  const remoteClient = await connect(b, 'remote-user')
  const remoteLatency = await measureLatency(a, remoteClient, 'remote-user')
  const remoteRate = await measureThroughput(a, remoteClient, 'remote-user')
  remoteClient.ws.close()
  await Promise.all([a.close(), b.close()])

  const ms = (n) => n.toFixed(3)
  const rate = (n) => Math.round(n).toLocaleString('en-US')
  const lines = [
    '## Cross-node delivery (Redis)',
    '',
    `Machine: ${machine}. Redis ${REDIS_URL.replace(/\/\/[^@]*@/, '//')} on loopback, PING p50 ${ms(ping)} ms.`,
    '',
    `\`node bench/cluster.mjs\`: one ${PAYLOAD_BYTES}-byte-filler system.notification per sendToUser() to one user with one socket; sender, nodes and client in one process. Latency: ${LATENCY_N.toLocaleString('en-US')} messages one at a time (after ${WARMUP} warm-up), from the call to the client's receipt. Throughput: ${THROUGHPUT_N.toLocaleString('en-US')} messages with ${WINDOW} in flight, counted at the client.`,
    '',
    '| path | latency p50 ms | latency p99 ms | messages/s |',
    '|---|---:|---:|---:|',
    `| one process (memory adapter) | ${ms(localLatency.p50)} | ${ms(localLatency.p99)} | ${rate(localRate)} |`,
    `| node A -> Redis -> node B | ${ms(remoteLatency.p50)} | ${ms(remoteLatency.p99)} | ${rate(remoteRate)} |`,
    `| added by the Redis hop | +${ms(remoteLatency.p50 - localLatency.p50)} | +${ms(remoteLatency.p99 - localLatency.p99)} | ×${(remoteRate / localRate).toFixed(2)} |`,
    ''
  ]
  const section = lines.join('\n')
  console.log(section)

  if (process.argv.includes('--write')) {
    // raw data in bench/results/, RESULTS.md rendered from it (bench/lib/cluster-report.mjs)
    const { writeClusterRaw } = await import('./lib/cluster-report.mjs')
    const config = { latencyN: LATENCY_N, throughputN: THROUGHPUT_N, window: WINDOW, payloadBytes: PAYLOAD_BYTES, warmup: WARMUP }
    await writeClusterRaw({ root, redisUrl: REDIS_URL, config, ping, local: { ...localLatency, rate: localRate }, remote: { ...remoteLatency, rate: remoteRate } })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
