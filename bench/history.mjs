#!/usr/bin/env node
// History (issue 11): what numbering and keeping a channel's messages costs a
// publish, in memory and on Redis, and how long a client takes to recover 300
// missed messages.
//
//   npm run build && node bench/history.mjs [--quick | --smoke] [--rounds=N] [--engines=memory,redis] [--note=<text>]
//
// Env: REDIS_URL (redis://127.0.0.1:6379); the Redis cases are left out when it does not answer.
//
// Per engine (memory: one node; redis: two nodes, the subscribers split over
// them, the publisher on the first) and per history setting (off: a channel
// of a namespace without history; on: `history: { size: 300, ttlMs: 300000 }`),
// interleaved in every round so that both settings see the same machine:
//   - throughput: MESSAGES publishes of a 256-byte message to one channel of
//     SUBSCRIBERS members, WINDOW in flight, until every member has all of
//     them: publishes per second and the server's CPU time per publish
//     (process.cpuUsage over the run; the clients run in this process too,
//     and cost the same with history on or off);
//   - latency: LATENCY_N publishes one at a time, each until every member got it (p50, p99);
//   - recovery: a client away while 300 messages were published subscribes
//     with `recover`; the time from its subscribe to its recovery.result (p50 of RECOVERIES).
// The ratio on/off is taken within each round. Raw runs go to
// bench/results/history-<mode>-<date>.jsonl (committed; not in --smoke mode),
// then bench/RESULTS.md is rendered again from the raw files
// (bench/lib/history-report.mjs renders this section). Loopback only,
// bounded in count and time.
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { mkdirSync, appendFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from './lib/common.mjs'
import { writeResults } from './lib/results-hook.mjs'
import { renderHistory } from './lib/history-report.mjs'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const Fastify = require('fastify')
const WebSocket = require('ws')
const { createSigner } = require('fast-jwt')
const { Redis } = require('ioredis')
const realtime = require(path.join(root, 'dist', 'index.js'))
const { Child } = await import('./lib/child.mjs')

const args = parseArgs()
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'
const CONFIGS = {
  full: { rounds: 5, subscribers: 20, messages: 5000, window: 100, latencyN: 500, recoveries: 10 },
  quick: { rounds: 5, subscribers: 20, messages: 4000, window: 100, latencyN: 300, recoveries: 5 },
  smoke: { rounds: 1, subscribers: 4, messages: 200, window: 20, latencyN: 20, recoveries: 1 }
}
const config = { ...CONFIGS[mode], missed: 300, bytes: 256 }
const HISTORY = { size: Math.max(100, config.missed), ttlMs: 300_000 }
config.history = HISTORY
if (args.rounds) config.rounds = Number(args.rounds)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'bench-secret-that-is-long-enough-for-hs256'
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
const BODY = 'x'.repeat(config.bytes)

async function isRedisUp () {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function startNode (engine, prefix) {
  const app = Fastify()
  await app.register(realtime.fastifyRealtime, {
    jwt: SECRET,
    // `on` keeps history (and `recovery` needs it); `off` is the same channel without
    channels: { on: { history: HISTORY }, off: {} },
    maxRecoveredMessages: config.missed,
    maxConnections: 10_000,
    maxConnectionsPerUser: 10_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
    ...(engine === 'redis' ? { adapter: realtime.redisAdapter({ url: REDIS_URL, keyPrefix: prefix }) } : {})
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** A raw client in this process (the recovering one), handing every message to whoever waits. */
async function connect (app, userId) {
  const ws = new WebSocket(`ws://127.0.0.1:${app.server.address().port}/ws/${sign({ sub: userId })}`)
  const client = { ws, waiting: undefined }
  ws.on('message', (raw) => { client.waiting?.(JSON.parse(raw.toString())) })
  ws.on('error', () => {})
  await once(ws, 'open')
  return client
}

/** Sends a message and resolves the first reply `done` accepts. */
function exchange (client, message, done) {
  return new Promise((resolve) => {
    client.waiting = (reply) => {
      if (!done(reply)) return
      client.waiting = undefined
      resolve(reply)
    }
    client.ws.send(JSON.stringify(message))
  })
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

/** One engine, both settings, one round. */
async function round (engine, roundIndex) {
  const prefix = `bench-history:${randomUUID().slice(0, 8)}`
  const nodes = [await startNode(engine, prefix)]
  if (engine === 'redis') nodes.push(await startNode(engine, prefix))
  // the subscribers live in a child process: the CPU time measured here is the server's
  const subscribers = new Child('subscribers', path.join(root, 'bench', 'lib', 'history-clients.mjs'))
  await subscribers.ready
  await subscribers.request('connect', {
    urls: Array.from({ length: config.subscribers }, (_, i) => `ws://127.0.0.1:${nodes[i % nodes.length].server.address().port}/ws/${sign({ sub: `u${i}` })}`)
  })
  let receipts = 0
  const waitFor = async (total) => { receipts = (await subscribers.request('waitFor', { total })).receipts }
  const publisher = nodes[0].realtime
  const results = []
  // alternate which setting goes first from round to round
  const settings = roundIndex % 2 === 0 ? ['off', 'on'] : ['on', 'off']
  for (const setting of settings) {
    const channel = `${setting}:bench-${roundIndex}`
    receipts = (await subscribers.request('subscribe', { channel })).receipts
    const message = { type: 'note', data: { body: BODY } }

    const latencies = []
    for (let i = 0; i < config.latencyN; i++) {
      const target = receipts + config.subscribers
      const started = performance.now()
      await publisher.publish(channel, message)
      await waitFor(target)
      // includes one round trip to the subscribers' process, the same with history on or off
      latencies.push(performance.now() - started)
    }
    latencies.sort((a, b) => a - b)

    const expected = receipts + config.messages * config.subscribers
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    let sent = 0
    const inflight = new Set()
    while (sent < config.messages) {
      while (inflight.size < config.window && sent < config.messages) {
        sent++
        const promise = publisher.publish(channel, message).finally(() => inflight.delete(promise))
        inflight.add(promise)
      }
      await Promise.race(inflight)
    }
    await Promise.all(inflight)
    await waitFor(expected)
    const seconds = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    results.push({
      kind: 'publish',
      engine,
      setting,
      round: roundIndex,
      publishesPerSecond: config.messages / seconds,
      throughputCost: seconds / config.messages,
      cpuMicrosPerPublish: (cpu.user + cpu.system) / config.messages,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99)
    })
  }

  // recovery of 300 missed messages, on the node the client was not on (Redis) or the only one
  const recoveries = []
  const channel = `on:recovery-${roundIndex}`
  for (let r = 0; r < config.recoveries; r++) {
    const away = await connect(nodes[0], `away${r}`)
    const confirmed = await exchange(away, { type: 'subscribe', data: { channels: [`${channel}-${r}`] } }, (m) => m.type === 'subscription.confirmed')
    const position = confirmed.data.positions[`${channel}-${r}`]
    away.ws.terminate()
    for (let i = 0; i < config.missed; i++) await publisher.publish(`${channel}-${r}`, { type: 'missed', data: { i, body: BODY } })
    const back = await connect(nodes[nodes.length - 1], `away${r}`)
    let replayed = 0
    const started = performance.now()
    const result = await exchange(back, { type: 'subscribe', data: { channels: [`${channel}-${r}`], recover: { [`${channel}-${r}`]: position } } }, (m) => {
      if (m.type === 'missed') replayed++
      return m.type === 'recovery.result'
    })
    const elapsed = performance.now() - started
    const outcome = result.data.streams[`${channel}-${r}`]
    if (outcome.recovered !== true || outcome.missed !== config.missed || replayed !== config.missed) {
      throw new Error(`recovery ${r} (${engine}): ${JSON.stringify(outcome)}, ${replayed} replayed`)
    }
    recoveries.push(elapsed)
    back.ws.terminate()
  }
  recoveries.sort((a, b) => a - b)
  results.push({ kind: 'recovery', engine, round: roundIndex, missed: config.missed, p50Ms: percentile(recoveries, 50), maxMs: recoveries.at(-1) })

  await subscribers.request('close')
  await subscribers.stop()
  await Promise.all(nodes.map(node => node.close()))
  if (engine === 'redis') {
    const redis = new Redis(REDIS_URL)
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
    redis.disconnect()
  }
  return results
}

const engines = args.engines === undefined ? ['memory', 'redis'] : String(args.engines).split(',')
if (engines.includes('redis') && !(await isRedisUp())) {
  console.log(`Redis not reachable at ${REDIS_URL}: memory only`)
  engines.splice(engines.indexOf('redis'), 1)
}
const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim() } catch { return 'unknown' } })()
const meta = {
  kind: 'meta',
  bench: 'history',
  mode,
  config,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, date: new Date().toISOString(), loadavgAtStart: loadavg(), commit },
  note: args.note ?? 'A shared machine: other helpers build and test beside the run. Read the on/off ratios (taken within each round) and the CPU per publish, not absolute rates and latencies.'
}
const lines = [meta]
for (let r = 0; r < config.rounds; r++) {
  for (const engine of engines) {
    const results = await round(engine, r)
    for (const result of results) {
      result.loadavg = loadavg()[0]
      lines.push(result)
    }
    console.log(`round ${r + 1}/${config.rounds} ${engine}: ${results.map(x => x.kind === 'publish' ? `${x.setting} ${Math.round(x.publishesPerSecond)}/s ${x.cpuMicrosPerPublish.toFixed(0)} us p99 ${x.p99Ms.toFixed(2)} ms` : `recovery p50 ${x.p50Ms.toFixed(1)} ms`).join(', ')}`)
  }
}
lines.push({ kind: 'end', loadavgAtEnd: loadavg(), date: new Date().toISOString() })

console.log('\n' + renderHistory(lines))
if (mode !== 'smoke') {
  const dir = path.join(root, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `history-${mode}-${meta.machine.date.replaceAll(/[:.]/g, '-')}.jsonl`)
  for (const line of lines) appendFileSync(file, JSON.stringify(line) + '\n')
  console.log(`\nraw runs: ${path.relative(root, file)}`)
  await writeResults()
}
process.exit(process.exitCode ?? 0)
