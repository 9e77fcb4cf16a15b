// Channels over Redis: the two routings of the Redis adapter, side by side.
//
//   npm run build && node bench/channels-redis.mjs
//
// Env: REDIS_URL (redis://127.0.0.1:6379), NODES (4), CHANNELS (2000), CLIENTS (1000),
// MESSAGES (10000), WINDOW (200), LATENCY_N (1000), ROUTINGS (per-channel,shared).
//
// NODES nodes run in this process, each with its own Redis connections, and
// CLIENTS sockets spread over them. Channel c gets 1 + c % 3 members, picked
// at random among the clients, so a node has members in only part of the
// channels. Node 0 publishes to random channels. Measured per routing:
//   - subscribe: time for every client to subscribe to all its channels (the
//     first member of a channel on a node waits for a Redis SUBSCRIBE in per-channel mode);
//   - latency: one publish at a time, until every member got it (p50/p99);
//   - throughput: WINDOW publishes in flight, deliveries per second;
//   - frames from Redis: what each node had to read and parse from Redis during the
//     throughput run, against the frames it needed (those for channels it has members in);
//   - Redis subscriptions held (one per channel per node with members in it).
// Loopback only, bounded in count and time.
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
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
const NODES = Number(process.env.NODES ?? 4)
const CHANNELS = Number(process.env.CHANNELS ?? 2000)
const CLIENTS = Number(process.env.CLIENTS ?? 1000)
const MESSAGES = Number(process.env.MESSAGES ?? 10000)
const WINDOW = Number(process.env.WINDOW ?? 200)
const LATENCY_N = Number(process.env.LATENCY_N ?? 1000)
const ROUTINGS = (process.env.ROUTINGS ?? 'per-channel,shared').split(',')
const SECRET = 'bench-secret-that-is-long-enough-for-hs256'
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })

/** A deterministic shuffle source, so both routings get the same layout. */
function random (seed) {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  }
}

async function startNode (routing, prefix) {
  const adapter = realtime.redisAdapter({ url: REDIS_URL, keyPrefix: prefix, channelRouting: routing })
  const counts = { frames: 0, needed: 0 }
  const start = adapter.start.bind(adapter)
  // count what reaches the node from Redis, and what it had members for
  adapter.start = (context) => start({
    ...context,
    receive (message) {
      counts.frames++
      if (message.kind === 'deliver' && message.target.kind === 'channel' && context.localChannelSubscribers(message.target.channel) > 0) counts.needed++
      context.receive(message)
    }
  })
  const app = Fastify()
  await app.register(realtime.fastifyRealtime, {
    jwt: SECRET,
    adapter,
    channels: { bench: {} },
    handshakeRateLimit: false,
    maxConnections: CLIENTS,
    maxBufferedBytes: 64 * 1024 * 1024,
    rateLimit: { max: 1_000_000, windowMs: 60_000 }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, adapter, counts }
}

async function connect (app, userId, onNote) {
  const ws = new WebSocket(`ws://127.0.0.1:${app.server.address().port}/ws/${sign({ sub: userId })}`)
  const client = { ws, waiters: new Map() }
  ws.on('message', (raw) => {
    const text = raw.toString()
    if (text.startsWith('{"type":"note"')) { onNote(); return }
    const message = JSON.parse(text)
    const id = message.data?.request_id
    if (id !== undefined) client.waiters.get(id)?.(message)
  })
  ws.on('error', () => {})
  await once(ws, 'open')
  return client
}

function request (client, data) {
  const id = randomUUID()
  return new Promise((resolve, reject) => {
    client.waiters.set(id, (message) => {
      client.waiters.delete(id)
      if (message.type === 'subscription.confirmed') resolve()
      else reject(new Error(JSON.stringify(message.data)))
    })
    client.ws.send(JSON.stringify({ type: 'subscribe', id, data }))
  })
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const ms = (n) => n.toFixed(2)

async function run (routing) {
  const prefix = `bench-channels:${randomUUID().slice(0, 8)}`
  const nodes = []
  for (let i = 0; i < NODES; i++) nodes.push(await startNode(routing, prefix))
  let receipts = 0
  let onReceipt
  const clients = []
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(await connect(nodes[i % NODES].app, `u${i}`, () => { receipts++; onReceipt?.() }))
  }
  const next = random(42)
  const channelsOf = clients.map(() => [])
  const members = []
  for (let c = 0; c < CHANNELS; c++) {
    const chosen = new Set()
    while (chosen.size < 1 + (c % 3)) chosen.add(Math.floor(next() * CLIENTS))
    for (const index of chosen) channelsOf[index].push(`bench:${c}`)
    members.push(chosen.size)
  }

  const subscribeStarted = performance.now()
  await Promise.all(clients.map(async (client, i) => {
    for (let j = 0; j < channelsOf[i].length; j += 100) await request(client, { channels: channelsOf[i].slice(j, j + 100) })
  }))
  const subscribeMs = performance.now() - subscribeStarted

  const waitFor = (total) => new Promise(resolve => {
    if (receipts >= total) { resolve(); return }
    onReceipt = () => { if (receipts >= total) { onReceipt = undefined; resolve() } }
  })
  const publisher = nodes[0].app.realtime
  const pick = random(7)

  // latency: one publish at a time, until all its members have it
  const latencies = []
  for (let i = 0; i < LATENCY_N; i++) {
    const c = Math.floor(pick() * CHANNELS)
    const target = receipts + members[c]
    const started = performance.now()
    await publisher.publish(`bench:${c}`, { type: 'note', data: { i } })
    await waitFor(target)
    latencies.push(performance.now() - started)
  }
  latencies.sort((a, b) => a - b)

  // throughput: WINDOW publishes in flight
  for (const node of nodes) { node.counts.frames = 0; node.counts.needed = 0 }
  let expected = receipts
  const plan = []
  for (let i = 0; i < MESSAGES; i++) {
    const c = Math.floor(pick() * CHANNELS)
    plan.push(c)
    expected += members[c]
  }
  const started = performance.now()
  let sent = 0
  const inflight = new Set()
  while (sent < MESSAGES) {
    while (inflight.size < WINDOW && sent < MESSAGES) {
      const c = plan[sent++]
      const promise = publisher.publish(`bench:${c}`, { type: 'note', data: { sent } }).finally(() => inflight.delete(promise))
      inflight.add(promise)
    }
    await Promise.race(inflight)
  }
  await Promise.all(inflight)
  await waitFor(expected)
  const seconds = (performance.now() - started) / 1000

  const redis = new Redis(REDIS_URL)
  const heldChannels = await redis.pubsub('CHANNELS', `${prefix}:channel:*`)
  let held = 0
  for (let i = 0; i < heldChannels.length; i += 500) {
    const counts = await redis.pubsub('NUMSUB', ...heldChannels.slice(i, i + 500))
    for (let j = 1; j < counts.length; j += 2) held += Number(counts[j])
  }
  redis.disconnect()
  const others = nodes.slice(1)
  const frames = others.reduce((sum, node) => sum + node.counts.frames, 0)
  const needed = others.reduce((sum, node) => sum + node.counts.needed, 0)

  for (const client of clients) client.ws.terminate()
  await Promise.all(nodes.map(node => node.app.close()))
  return {
    routing,
    subscribeMs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    publishesPerSecond: MESSAGES / seconds,
    framesPerNode: frames / others.length,
    neededPerNode: needed / others.length,
    held
  }
}

const results = []
for (const routing of ROUTINGS) results.push(await run(routing))
console.log(`\n${NODES} nodes, ${CLIENTS} clients, ${CHANNELS} channels of 1-3 members, ${MESSAGES} publishes from node 0 (window ${WINDOW});`)
console.log(`${cpus().length} cores, load ${loadavg().map(n => n.toFixed(1)).join(' ')}, Node ${process.version}\n`)
console.log('| routing | subscribe all (ms) | publish p50 (ms) | publish p99 (ms) | publishes/s | frames read per other node | of which needed | Redis subscriptions (channel x node) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of results) {
  console.log(`| ${r.routing} | ${Math.round(r.subscribeMs)} | ${ms(r.p50)} | ${ms(r.p99)} | ${Math.round(r.publishesPerSecond)} | ${Math.round(r.framesPerNode)} | ${Math.round(r.neededPerNode)} | ${r.held} |`)
}
process.exit(0)
