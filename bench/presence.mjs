// The cost of presence on connection churn: connect/disconnect cycles per second with presence off and on,
// in one process (memory adapter) and on two nodes sharing a Redis. Ratios come from one run, the
// configurations interleaved round by round so a slow minute hits them all alike.
//
//   npm run build && node bench/presence.mjs [--write]
//
// Env: REDIS_URL (default redis://127.0.0.1:6379), CYCLES (2000 per measurement), CONCURRENCY (50 in flight),
// ROUNDS (5). Each cycle: open a socket as a distinct user (so every connect is an online and every close an
// offline), wait for connection.established, close it. A measurement ends when the server has forgotten every
// connection and, with presence on, when onlineCount() is back to 0 (offlineGraceMs 0: the offline is decided
// at once), so the backend's work is inside the time. The audience hook is left out (announced to nobody): this is
// the cost of keeping the state; an announcement costs what any delivery costs (bench/RESULTS.md, fan-out).
// --write replaces the "## Presence" section of bench/RESULTS.md (or appends it).
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { cpus, loadavg, platform, arch } from 'node:os'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { replaceResultsSection } from './lib/common.mjs'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const Fastify = require('fastify')
const WebSocket = require('ws')
const { createSigner } = require('fast-jwt')
const realtime = require(path.join(root, 'dist', 'index.js'))

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const CYCLES = Number(process.env.CYCLES ?? 2000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const SECRET = 'bench-secret-that-is-long-enough-for-hs256'
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
/** A hard stop for the whole script: it is a quick bench, not a soak. */
const LIFE_LIMIT_MS = 10 * 60 * 1000

async function startNode (adapter, presence) {
  const app = Fastify()
  const options = {
    jwt: SECRET,
    handshakeRateLimit: false,
    maxConnections: 100_000,
    maxConnectionsPerUser: 10,
    rateLimit: { max: 1_000_000, windowMs: 60_000 }
  }
  if (adapter !== undefined) options.adapter = adapter
  if (presence) options.presence = { offlineGraceMs: 0 }
  await app.register(realtime.fastifyRealtime, options)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** One cycle: open as `userId`, wait for connection.established, close, wait for the close. */
async function cycle (port, userId) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${sign({ sub: userId })}`)
  ws.on('error', () => {})
  await new Promise((resolve, reject) => {
    ws.once('message', resolve)
    ws.once('close', () => reject(new Error('closed before connection.established')))
  })
  const closed = once(ws, 'close')
  ws.close()
  await closed
}

async function until (check) {
  while (!(await check())) await new Promise(resolve => setTimeout(resolve, 1))
}

/** Cycles per second through `nodes` (connections spread over them in turn), until the server side settled. */
async function measure (nodes, presence, round) {
  const ports = nodes.map(node => node.server.address().port)
  let next = 0
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const worker = async () => {
    while (next < CYCLES) {
      const i = next++
      await cycle(ports[i % ports.length], `u${round}-${i}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  await until(() => nodes.every(node => node.realtime.stats().connections === 0))
  if (presence) await until(async () => await nodes[0].realtime.onlineCount() === 0)
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  return { rate: CYCLES / seconds, cpuUsPerCycle: (cpu.user + cpu.system) / CYCLES }
}

const configurations = [
  { name: 'one process, presence off', redis: false, presence: false },
  { name: 'one process, presence on', redis: false, presence: true },
  { name: 'two nodes + Redis, presence off', redis: true, presence: false },
  { name: 'two nodes + Redis, presence on', redis: true, presence: true }
]

async function start (configuration) {
  if (!configuration.redis) return [await startNode(undefined, configuration.presence)]
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}`
  return Promise.all([0, 1].map(() => startNode(realtime.redisAdapter({ url: REDIS_URL, keyPrefix }), configuration.presence)))
}

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function main () {
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${platform()} ${arch()}; ${new Date().toISOString()}; loadavg at start ${loadavg().map(l => l.toFixed(2)).join(' ')}`
  const rates = new Map(configurations.map(c => [c.name, []]))
  // the process's JIT warms up once, on a server that is not measured
  const warm = await startNode(undefined, true)
  for (let i = 0; i < 1000; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => cycle(warm.server.address().port, `jit-${i + j}`)))
  }
  await warm.close()
  for (let round = 0; round < ROUNDS; round++) {
    for (const configuration of configurations) {
      const nodes = await start(configuration)
      // a short warm-up on the same servers, not counted
      await Promise.all(Array.from({ length: 100 }, (_, i) => cycle(nodes[i % nodes.length].server.address().port, `warm-${round}-${i}`)))
      const result = await measure(nodes, configuration.presence, round)
      rates.get(configuration.name).push(result)
      await Promise.all(nodes.map(node => node.close()))
      console.error(`round ${round + 1}/${ROUNDS}: ${configuration.name}: ${Math.round(result.rate)} cycles/s, ${Math.round(result.cpuUsPerCycle)} µs CPU per cycle`)
    }
  }
  const rate = (name) => median(rates.get(name).map(r => r.rate))
  const cpu = (name) => median(rates.get(name).map(r => r.cpuUsPerCycle))
  // the same ratio within each round (the two runs met about the same machine), then the median over rounds
  const paired = (on, off, key) => median(rates.get(on).map((r, i) => r[key] / rates.get(off)[i][key])).toFixed(2)
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  const row = (name, off) => off === undefined
    ? `| ${name} | ${fmt(rate(name))} | ${fmt(cpu(name))} | | |`
    : `| ${name} | ${fmt(rate(name))} | ${fmt(cpu(name))} | ×${paired(name, off, 'rate')} | ×${paired(name, off, 'cpuUsPerCycle')} |`
  const lines = [
    '## Presence',
    '',
    `Machine: ${machine}. Redis ${REDIS_URL.replace(/\/\/[^@]*@/, '//')} on loopback; loadavg at the end ${loadavg().map(l => l.toFixed(2)).join(' ')}.`,
    '',
    `\`node bench/presence.mjs\`: ${CYCLES.toLocaleString('en-US')} connect/disconnect cycles per measurement (open as a distinct user, connection.established, close), ${CONCURRENCY} in flight, timed until the server forgot every connection and, with presence on (offlineGraceMs 0, no audience hook), until onlineCount() is 0 again. Median of ${ROUNDS} interleaved rounds; the clients run in the same process as the servers.`,
    '',
    '| configuration | cycles/s | CPU µs per cycle | rate on / off | CPU on / off |',
    '|---|---:|---:|---:|---:|',
    row('one process, presence off'),
    row('one process, presence on', 'one process, presence off'),
    row('two nodes + Redis, presence off'),
    row('two nodes + Redis, presence on', 'two nodes + Redis, presence off'),
    '',
    'CPU is this process\'s (servers and clients together; the clients do the same work in every configuration), not Redis\'s. The on / off columns are paired: the ratio within each round, then the median. On a machine shared with other work the rates move with it; CPU per cycle moves less.',
    ''
  ]
  const section = lines.join('\n')
  console.log(section)

  if (process.argv.includes('--write')) {
    const file = path.join(root, 'bench', 'RESULTS.md')
    replaceResultsSection(file, '## Presence', section)
    console.log(`wrote ${path.relative(process.cwd(), file)}`)
  }
}

setTimeout(() => {
  console.error(`bench/presence.mjs: still running after ${LIFE_LIMIT_MS / 60000} minutes; giving up`)
  process.exit(1)
}, LIFE_LIMIT_MS).unref()

main().then(() => process.exit(0), (err) => {
  console.error(err)
  process.exit(1)
})
