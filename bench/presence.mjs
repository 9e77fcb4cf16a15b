// The cost of presence on connection churn: connect/disconnect cycles per second with presence off and on,
// in one process (memory adapter) and on two nodes sharing a Redis. Ratios come from one run, the
// configurations interleaved round by round so a slow minute hits them all alike.
//
//   npm run build && node bench/presence.mjs [--quick | --smoke]
//
// Env: REDIS_URL (default redis://127.0.0.1:6379), CYCLES (2000 per measurement), CONCURRENCY (50 in flight),
// ROUNDS (5). Each cycle: open a socket as a distinct user (so every connect is an online and every close an
// offline), wait for connection.established, close it. A measurement ends when the server has forgotten every
// connection and, with presence on, when onlineCount() is back to 0 (offlineGraceMs 0: the offline is decided
// at once), so the backend's work is inside the time. The audience hook is left out (announced to nobody): this is
// the cost of keeping the state; an announcement costs what any delivery costs (bench/RESULTS.md, fan-out).
// Writes the raw measurements to bench/results/presence-<mode>-<date>.jsonl (not in --smoke mode) and renders
// bench/RESULTS.md again from the raw files (bench/lib/presence-report.mjs renders this section).
// --quick: 3 rounds of 1000 cycles; --smoke: 1 round of 100 cycles, nothing written.
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadavg as loadavgNow, machineInfo, parseArgs, rawFileName, writeJsonLines } from './lib/common.mjs'
import { CONFIGURATIONS, renderPresence } from './lib/presence-report.mjs'
import { writeResults } from './lib/results-hook.mjs'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const Fastify = require('fastify')
const WebSocket = require('ws')
const { createSigner } = require('fast-jwt')
const realtime = require(path.join(root, 'dist', 'index.js'))

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const args = parseArgs()
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'
const DEFAULTS = { full: { cycles: 2000, rounds: 5 }, quick: { cycles: 1000, rounds: 3 }, smoke: { cycles: 100, rounds: 1 } }[mode]
const CYCLES = Number(process.env.CYCLES ?? DEFAULTS.cycles)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50)
const ROUNDS = Number(process.env.ROUNDS ?? DEFAULTS.rounds)
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

const configurations = CONFIGURATIONS

async function start (configuration) {
  if (!configuration.redis) return [await startNode(undefined, configuration.presence)]
  const keyPrefix = `bench:${randomUUID().slice(0, 8)}`
  return Promise.all([0, 1].map(() => startNode(realtime.redisAdapter({ url: REDIS_URL, keyPrefix }), configuration.presence)))
}

async function main () {
  const machine = machineInfo(root)
  const rawFile = rawFileName('presence', mode, machine.date)
  const raw = [{ kind: 'meta', bench: 'presence', mode, config: { cycles: CYCLES, concurrency: CONCURRENCY, rounds: ROUNDS }, redis: REDIS_URL.replace(/\/\/[^@]*@/, '//'), machine, rawFile }]
  // the process's JIT warms up once, on a server that is not measured
  const warm = await startNode(undefined, true)
  for (let i = 0; i < Math.min(1000, CYCLES); i += CONCURRENCY) {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => cycle(warm.server.address().port, `jit-${i + j}`)))
  }
  await warm.close()
  for (let round = 0; round < ROUNDS; round++) {
    for (const configuration of configurations) {
      const nodes = await start(configuration)
      // a short warm-up on the same servers, not counted
      await Promise.all(Array.from({ length: 100 }, (_, i) => cycle(nodes[i % nodes.length].server.address().port, `warm-${round}-${i}`)))
      const result = await measure(nodes, configuration.presence, round)
      raw.push({ kind: 'measurement', configuration: configuration.name, round, ...result, loadavg: loadavgNow()[0] })
      await Promise.all(nodes.map(node => node.close()))
      console.error(`round ${round + 1}/${ROUNDS}: ${configuration.name}: ${Math.round(result.rate)} cycles/s, ${Math.round(result.cpuUsPerCycle)} µs CPU per cycle`)
    }
  }
  raw[0].machine.loadavgAtEnd = loadavgNow()
  console.log(renderPresence(raw))
  if (mode !== 'smoke') {
    writeJsonLines(path.join(root, rawFile), raw)
    console.log(`raw: ${rawFile}`)
    await writeResults()
  }
}

setTimeout(() => {
  console.error(`bench/presence.mjs: still running after ${LIFE_LIMIT_MS / 60000} minutes; giving up`)
  process.exit(1)
}, LIFE_LIMIT_MS).unref()

main().then(() => process.exit(process.exitCode ?? 0), (err) => {
  console.error(err)
  process.exit(1)
})
