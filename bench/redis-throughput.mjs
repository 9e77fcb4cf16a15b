#!/usr/bin/env node
// Cross-node delivery through Redis (issue 15): deliveries per second on the
// receiving node and the latency the Redis hop adds, with the adapter's
// publish batching off and on, in one run.
//
//   npm run build && node bench/redis-throughput.mjs [--quick | --smoke] [--rounds=N] [--members=N] [--messages=N] [--settings=local,off,autopipeline,on] [--cpu-prof] [--note=<text>] [--write]
//
// Env: REDIS_URL (redis://127.0.0.1:6379). Loopback only, bounded in count and time.
//
// Settings, interleaved in every round (the order turns from round to round):
//   local         one node, the memory adapter: the same delivery in one process
//   off           two nodes over Redis, `publishBatching: false`: one PUBLISH per message (as before issue 15)
//   autopipeline  as off, on an ioredis client with `enableAutoPipelining` (the adapter duplicates it)
//   on            two nodes over Redis, `publishBatching: true` (the default): the publishes of one
//                 event-loop turn to one Redis channel go as one Redis message
// In the Redis settings node A publishes (in this process) and every
// subscriber is on node B, a process of its own (bench/lib/redis-throughput-node.mjs),
// so every delivery crosses Redis. Per setting:
//   - throughput: MESSAGES publishes of a 256-byte message to one channel of
//     SUBSCRIBERS members (their clients in another child process), WINDOW in
//     flight, until every member has all of them. deliveries/s = MESSAGES x
//     SUBSCRIBERS / seconds, all on the receiving node; messages/s = what
//     crossed Redis; CPU = this process (node A and the probe client; local:
//     the one node and the probe) per delivery; node B CPU = the receiving
//     node's process per delivery, one node's cost of a cross-node delivery;
//   - latency: LATENCY_N publishes one at a time, from the call to the probe
//     client's receipt (the probe is an extra member on the receiving node, in
//     this process); "added" is a Redis setting's percentile minus local's.
// The probe checks every message arrives once and in publish order. Ratios
// are taken within each round, then the median. Raw runs go to
// bench/results/redis-throughput-<mode>-<date>.jsonl (--members=1:
// redis-throughput-1-member-..., a section of its own); --write renders
// bench/RESULTS.md again (bench/lib/redis-throughput-report.mjs).
// --smoke: a few hundred messages, writes nothing, prints
// BENCH-REDIS-SUMMARY and exits 1 on a loss, a reorder or a failed run.
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { mkdirSync, appendFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, median, percentile } from './lib/common.mjs'
import { cpuMicros } from './lib/harness.mjs'
import { writeResults } from './lib/results-hook.mjs'
import { renderRedisThroughput, redisThroughputBench } from './lib/redis-throughput-report.mjs'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const WebSocket = require('ws')
const { createSigner } = require('fast-jwt')
const { Redis } = require('ioredis')
const { Child } = await import('./lib/child.mjs')

const args = parseArgs()
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'
const CONFIGS = {
  // enough messages that warm-up (JIT, buffers) is a small part of the throughput phase: 10,000 to
  // one member took about 0.3 s and read 27k/s, where 150,000 read 77k/s on the same build
  full: { rounds: 5, subscribers: 20, messages: 100_000, window: 1000, latencyN: 500 },
  quick: { rounds: 3, subscribers: 20, messages: 50_000, window: 1000, latencyN: 300 },
  smoke: { rounds: 1, subscribers: 4, messages: 300, window: 50, latencyN: 20 }
}
const config = { ...CONFIGS[mode], bytes: 256 }
if (args.rounds) config.rounds = Number(args.rounds)
// --members=1: one socket per message, so the rate is the Redis hop's, not the fan-out's
if (args.members) config.subscribers = Number(args.members)
// --messages=N: a longer throughput phase (to profile it with node --cpu-prof)
if (args.messages) config.messages = Number(args.messages)
const SETTINGS = args.settings === undefined ? ['local', 'off', 'autopipeline', 'on'] : String(args.settings).split(',')
import { REDIS_URL, SECRET, startRedisThroughputNode } from './lib/redis-throughput-nodes.mjs'
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

const CONFIRMED = Buffer.from('{"type":"subscription.confirmed"')
const NOTE = Buffer.from('{"type":"note","data":{"i":')
const INDEX_KEY = Buffer.from('"i":')

/** The decimal number at bytes[at...] (-1 when there is none). */
function numberAfter (bytes, at) {
  let n = -1
  for (let j = at; j < bytes.length; j++) {
    const digit = bytes[j] - 48
    if (digit < 0 || digit > 9) break
    n = (n === -1 ? 0 : n * 10) + digit
  }
  return n
}

/** The probe: a member in this process that checks order and loss, and times single messages. */
async function connectProbe (port, channel) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${sign({ sub: 'probe' })}`)
  const probe = { ws, next: 0, errors: 0, waiting: undefined, confirmed: undefined }
  ws.on('message', (raw) => {
    // the probe shares the publishing node's process: it reads `i` from the bytes, without parsing the JSON
    if (raw.indexOf(CONFIRMED) === 0) { probe.confirmed?.(); return }
    if (raw.indexOf(NOTE) !== 0) return
    const i = numberAfter(raw, raw.indexOf(INDEX_KEY) + INDEX_KEY.length)
    // every message once, in publish order
    if (i !== probe.next) probe.errors++
    probe.next = i + 1
    probe.waiting?.()
  })
  ws.on('error', () => {})
  await once(ws, 'open')
  await new Promise((resolve) => {
    probe.confirmed = resolve
    ws.send(JSON.stringify({ type: 'subscribe', data: { channels: [channel] } }))
  })
  return probe
}

async function clean (prefix) {
  const redis = new Redis(REDIS_URL)
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) await redis.del(...keys)
  } while (cursor !== '0')
  redis.disconnect()
}

/** One setting, one round. */
async function run (setting, roundIndex, subscribers) {
  const prefix = `bench-tp:${randomUUID().slice(0, 8)}`
  // the publishing node here; the receiving node in a process of its own (one node: here)
  const publishing = await startRedisThroughputNode(setting, prefix)
  const receiving = setting === 'local'
    ? undefined
    : new Child(`node-b:${setting}`, path.join(root, 'bench', 'lib', 'redis-throughput-node.mjs'), {
      env: { SETTING: setting, KEY_PREFIX: prefix, REDIS_URL },
      // --cpu-prof: the receiving node's profile, bench/out/profiles/redis-node-b-<setting>-r<round>.cpuprofile
      nodeArgs: args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench', 'out', 'profiles')}`, `--cpu-prof-name=redis-node-b-${setting}-r${roundIndex}.cpuprofile`] : []
    })
  if (receiving !== undefined) await receiving.ready
  const receiverPort = receiving === undefined ? publishing.app.server.address().port : receiving.info.port
  const channel = `tp:r${roundIndex}-${setting}`
  const result = { kind: 'run', setting, round: roundIndex, ok: false, losses: 0, reorders: 0 }
  try {
    await subscribers.request('connect', {
      urls: Array.from({ length: config.subscribers }, (_, i) => `ws://127.0.0.1:${receiverPort}/ws/${sign({ sub: `u${i}` })}`)
    })
    let receipts = (await subscribers.request('subscribe', { channel })).receipts
    const probe = await connectProbe(receiverPort, channel)
    const publisher = publishing.app.realtime
    let i = 0
    const message = () => ({ type: 'note', data: { i: i++, body: BODY } })

    const latencies = []
    for (let n = 0; n < config.latencyN; n++) {
      const got = new Promise(resolve => { probe.waiting = resolve })
      const started = performance.now()
      await publisher.publish(channel, message())
      await got
      latencies.push(performance.now() - started)
    }
    probe.waiting = undefined
    latencies.sort((a, b) => a - b)
    receipts += config.latencyN * config.subscribers

    const expected = receipts + config.messages * config.subscribers
    const cpuBefore = process.cpuUsage()
    const receivingBefore = await receiving?.request('cpu')
    const started = performance.now()
    // WINDOW publishes in flight, one more as each settles: a counter, not a
    // Promise.race over the window (which costs the runner O(WINDOW) per message)
    await new Promise((resolve, reject) => {
      let sent = 0
      let inflight = 0
      const settled = () => {
        inflight--
        if (sent === config.messages && inflight === 0) resolve()
        else pump()
      }
      const pump = () => {
        while (inflight < config.window && sent < config.messages) {
          sent++
          inflight++
          publisher.publish(channel, message()).then(settled, reject)
        }
      }
      pump()
    })
    try {
      receipts = (await subscribers.request('waitFor', { total: expected }, 60_000)).receipts
    } catch (err) {
      result.losses = 1
      throw err
    }
    // the probe's own socket may trail the child's
    if (probe.next < i) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 10_000)
        probe.waiting = () => { if (probe.next >= i) { clearTimeout(timer); resolve() } }
      })
    }
    const seconds = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const receivingAfter = await receiving?.request('cpu')
    const deliveries = config.messages * config.subscribers
    if (probe.next !== i) result.losses += i - probe.next
    result.reorders = probe.errors
    Object.assign(result, {
      ok: result.losses === 0 && result.reorders === 0,
      messagesPerSecond: config.messages / seconds,
      deliveriesPerSecond: deliveries / seconds,
      cpuMicrosPerDelivery: (cpu.user + cpu.system) / deliveries,
      // the receiving node alone (its own process): one node's cost of a cross-node delivery
      ...(receiving === undefined ? {} : { receivingCpuMicrosPerDelivery: cpuMicros(receivingBefore, receivingAfter) / deliveries }),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99)
    })
    probe.ws.terminate()
  } catch (err) {
    result.error = String(err?.message ?? err)
  } finally {
    await subscribers.request('close').catch(() => {})
    await publishing.close()
    if (receiving !== undefined) {
      await receiving.request('stop').catch(() => {})
      await receiving.stop()
    }
    if (setting !== 'local') await clean(prefix)
  }
  return result
}

const settings = [...SETTINGS]
if (settings.some(s => s !== 'local') && !(await isRedisUp())) {
  console.log(`Redis not reachable at ${REDIS_URL}: nothing to measure`)
  process.exit(mode === 'smoke' && process.env.CI === 'true' ? 1 : 0)
}
const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim() } catch { return 'unknown' } })()
const meta = {
  kind: 'meta',
  mode,
  config,
  settings,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, date: new Date().toISOString(), loadavgAtStart: loadavg(), commit },
  note: args.note ?? 'A shared machine: other helpers build and test beside the run. Read the ratios (taken within each round), not absolute rates and latencies.'
}
const lines = [meta]
const all = []
const subscribers = new Child('subscribers', path.join(root, 'bench', 'lib', 'history-clients.mjs'))
await subscribers.ready
for (let r = 0; r < config.rounds; r++) {
  const order = settings.map((_, k) => settings[(k + r) % settings.length])
  for (const setting of order) {
    const result = await run(setting, r, subscribers)
    result.loadavg = loadavg()[0]
    lines.push(result)
    all.push(result)
    console.log(`round ${r + 1}/${config.rounds} ${setting}: ` + (result.ok
      ? `${Math.round(result.deliveriesPerSecond)} deliveries/s, ${Math.round(result.messagesPerSecond)} msg/s, ${result.cpuMicrosPerDelivery.toFixed(2)} us CPU/delivery, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms`
      : `FAILED (${result.error ?? `${result.losses} lost, ${result.reorders} out of order`})`))
  }
}
await subscribers.stop()
lines.push({ kind: 'end', loadavgAtEnd: loadavg(), date: new Date().toISOString() })

const failed = all.filter(x => !x.ok)
const summary = { runs: all.length, failedRuns: failed.length, losses: all.reduce((n, x) => n + x.losses, 0), reorders: all.reduce((n, x) => n + x.reorders, 0) }
console.log(`BENCH-REDIS-SUMMARY ${JSON.stringify(summary)}`)
if (mode === 'smoke') process.exit(failed.length === 0 ? 0 : 1)

const file = path.join(root, 'bench', 'results', `${redisThroughputBench(config.subscribers)}-${mode}-${meta.machine.date.replaceAll(/[:.]/g, '-')}.jsonl`)
console.log('\n' + renderRedisThroughput(lines))
mkdirSync(path.dirname(file), { recursive: true })
for (const line of lines) appendFileSync(file, JSON.stringify(line) + '\n')
console.log(`raw runs: ${path.relative(root, file)}`)
// RESULTS.md again, whole, from the newest raw file of every bench
if (args.write) await writeResults()
process.exit(failed.length === 0 ? 0 : 1)
