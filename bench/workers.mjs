// Every core of one machine: N node:cluster workers on one port as one server
// (clusterIpcAdapter + clusterPrimary, no Redis), 127.0.0.1 only.
//
//   npm run build && node bench/workers.mjs [--smoke] [--write]
//   node bench/workers.mjs --render   (bench/RESULTS.md again from the newest raw file of every bench)
//
// 1. idle: --connections (100,000) subscribed connections over --workers (8)
//    workers, each under the 20,000 files one process may open; the clients
//    in load generator processes of at most --per-lg (16,000) sockets, bound
//    to 127.0.0.2-17 so no source address runs out of ports. Reports server
//    RSS per connection (every worker and the primary, above the idle
//    baseline) and how long one broadcast from one worker takes to reach all.
// 2. fan-out: --fanout-connections (20,000) subscribed connections, with 1
//    and with 2 workers: --broadcasts (10) broadcasts one at a time from
//    worker 1; latency from the call to the last receipt, deliveries/s.
// Stops by itself: every step has a timeout, the whole run --max-minutes (15).
// Raw JSON lines go to bench/results/workers-<stamp>.jsonl (not with
// --smoke); --write (or --render) puts the section in bench/RESULTS.md.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { freemem, totalmem } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Child } from './lib/child.mjs'
import { parseArgs, cpuModel, loadavg, percentile, median } from './lib/common.mjs'
import { writeResults } from './lib/results-hook.mjs'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const args = parseArgs()
const SMOKE = args.smoke === true
const HEADING = '## Workers on one machine (node:cluster)'

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain && args.render !== undefined) {
  await render()
  process.exit(0)
}

const CONNECTIONS = Number(args.connections ?? (SMOKE ? 300 : 100_000))
const WORKERS = Number(args.workers ?? (SMOKE ? 2 : 8))
const PER_LG = Number(args['per-lg'] ?? 16_000)
const FANOUT_N = Number(args['fanout-connections'] ?? (SMOKE ? 200 : 20_000))
const BROADCASTS = Number(args.broadcasts ?? (SMOKE ? 2 : 10))
const BYTES = 64
const MAX_MINUTES = Number(args['max-minutes'] ?? (SMOKE ? 2 : 20))
/** Seconds of connecting before each phase stops where it got to. */
const IDLE_BUDGET_S = Number(args['idle-connect-seconds'] ?? (SMOKE ? 60 : 420))
const FANOUT_BUDGET_S = Number(args['fanout-connect-seconds'] ?? (SMOKE ? 60 : 180))
const BATCH = 1000

const deadline = setTimeout(() => {
  console.error(`workers: over ${MAX_MINUTES} minutes, stopping`)
  process.exit(2)
}, MAX_MINUTES * 60_000)
deadline.unref()

function openFilesLimit () {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
  return Number(line?.split(/\s+/)[3])
}

async function startServer (workers) {
  const server = new Child(`server(${workers})`, path.join(root, 'bench', 'lib', 'cluster-server.mjs'), { env: { WORKERS: String(workers), ADAPTER: 'ipc' }, readyTimeoutMs: 60_000 })
  await server.ready
  return server
}

async function startLgs (port, total) {
  const count = Math.max(1, Math.ceil(total / PER_LG))
  const lgs = Array.from({ length: count }, (_, i) => new Child(`lg${i}`, path.join(root, 'bench', 'loadgen.mjs'), {
    env: { KIND: 'ws', PORT: String(port), LG_INDEX: String(i), SOURCE_ADDRESSES: '16', HANDSHAKE_TIMEOUT_MS: '60000', MAX_LIFE_MS: String(MAX_MINUTES * 60_000) }
  }))
  await Promise.all(lgs.map(lg => lg.ready))
  return lgs
}

/**
 * Connects `total` subscribed clients spread over the load generators, in
 * rounds of up to BATCH per generator; stops after the round that passes
 * `budgetSeconds` (a loaded machine connects slower), saying so.
 */
async function connectAll (lgs, total, budgetSeconds) {
  const share = Math.ceil(total / lgs.length)
  const started = Date.now()
  const perLg = lgs.map(() => 0)
  const attempted = lgs.map(() => 0)
  let failed = 0
  let stoppedBy = 'done'
  while (attempted.some((n, i) => n < Math.max(0, Math.min(share, total - i * share)))) {
    if ((Date.now() - started) / 1000 > budgetSeconds) {
      stoppedBy = 'budget'
      break
    }
    const results = await Promise.all(lgs.map((lg, i) => {
      const count = Math.min(BATCH, Math.max(0, Math.min(share, total - i * share)) - attempted[i])
      const from = i * share + attempted[i]
      attempted[i] += count
      return count === 0 ? { subscribed: 0, failed: 0 } : lg.request('connect', { from, count, concurrency: 50, subscribe: true }, MAX_MINUTES * 60_000)
    }))
    results.forEach((r, i) => { perLg[i] += r.subscribed })
    failed += results.reduce((n, r) => n + r.failed, 0)
    console.error(`connected ${sumOf(perLg)} of ${total} in ${Math.round((Date.now() - started) / 1000)} s (${failed} failed)`)
  }
  return {
    subscribed: sumOf(perLg),
    failed,
    perLg,
    stoppedBy,
    seconds: (Date.now() - started) / 1000,
    errorSample: (await Promise.all(lgs.map(lg => lg.request('stats')))).map(s => s.errorSample).find(e => e !== null) ?? null
  }
}

/** One broadcast from worker 1; ms from the call to the first and the last receipt, and how many got it. */
async function broadcastOnce (server, lgs, seq, perLg) {
  const { at, error } = await server.request('broadcast', { seq, bytes: BYTES }, 120_000)
  if (error !== undefined) throw new Error(error)
  const answers = await Promise.all(lgs.map((lg, i) => lg.request('await', { seq, expected: perLg[i], timeoutMs: 60_000 }, 90_000)))
  const received = answers.reduce((n, a) => n + a.count, 0)
  const last = Math.max(...answers.map(a => a.last))
  const first = Math.min(...answers.map(a => a.first))
  return { received, firstMs: first - at, lastMs: last - at }
}

async function stopAll (children) {
  await Promise.all(children.map(child => child.request('exit', {}, 5000).catch(() => {})))
  await Promise.all(children.map(child => child.stop(3000)))
}

const sumOf = (values) => values.reduce((a, b) => a + b, 0)

async function idleRun () {
  const server = await startServer(WORKERS)
  const before = await server.request('stats')
  const lgs = await startLgs(server.info.port, CONNECTIONS)
  try {
    const reached = await connectAll(lgs, CONNECTIONS, IDLE_BUDGET_S)
    const after = await server.request('stats')
    const connections = sumOf(after.connections)
    const rssBefore = sumOf(before.rss) + before.primaryRss
    const rssAfter = sumOf(after.rss) + after.primaryRss
    const broadcasts = []
    for (let seq = 1; seq <= 3; seq++) broadcasts.push(await broadcastOnce(server, lgs, seq, reached.perLg))
    return {
      kind: 'idle',
      workers: WORKERS,
      loadGenerators: lgs.length,
      target: CONNECTIONS,
      connections,
      perWorker: after.connections,
      failed: reached.failed,
      stoppedBy: reached.stoppedBy,
      errorSample: reached.errorSample,
      connectSeconds: reached.seconds,
      rssBeforeMB: rssBefore / 2 ** 20,
      rssAfterMB: rssAfter / 2 ** 20,
      rssPerConnKB: (rssAfter - rssBefore) / Math.max(1, connections) / 1024,
      primaryRssMB: after.primaryRss / 2 ** 20,
      broadcastLastMs: median(broadcasts.map(b => b.lastMs)),
      broadcastFirstMs: median(broadcasts.map(b => b.firstMs)),
      broadcasts
    }
  } finally {
    await stopAll([...lgs, server])
  }
}

async function fanoutRun (workers) {
  const server = await startServer(workers)
  const lgs = await startLgs(server.info.port, FANOUT_N)
  try {
    const reached = await connectAll(lgs, FANOUT_N, FANOUT_BUDGET_S)
    // one unmeasured broadcast: first-use costs out of the way
    await broadcastOnce(server, lgs, 1, reached.perLg)
    const samples = []
    for (let seq = 2; seq <= BROADCASTS + 1; seq++) samples.push(await broadcastOnce(server, lgs, seq, reached.perLg))
    const last = samples.map(s => s.lastMs).sort((a, b) => a - b)
    const losses = sumOf(samples.map(s => reached.subscribed - s.received))
    return {
      kind: 'fanout',
      workers,
      connections: reached.subscribed,
      target: FANOUT_N,
      stoppedBy: reached.stoppedBy,
      connectSeconds: reached.seconds,
      failed: reached.failed,
      broadcasts: BROADCASTS,
      bytes: BYTES,
      lastP50Ms: percentile(last, 50),
      lastP99Ms: percentile(last, 99),
      firstP50Ms: percentile(samples.map(s => s.firstMs).sort((a, b) => a - b), 50),
      deliveriesPerSecond: median(samples.map(s => s.received / (s.lastMs / 1000))),
      losses
    }
  } finally {
    await stopAll([...lgs, server])
  }
}

async function main () {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const lines = [{
    kind: 'machine',
    at: new Date().toISOString(),
    cpu: cpuModel(),
    node: process.version,
    openFilesLimit: openFilesLimit(),
    freeMemoryMB: Math.round(freemem() / 2 ** 20),
    totalMemoryMB: Math.round(totalmem() / 2 ** 20),
    loadavg: loadavg(),
    smoke: SMOKE
  }]
  console.error(JSON.stringify(lines[0]))
  lines.push(await idleRun())
  console.error(JSON.stringify(lines.at(-1)))
  for (const workers of [1, 2]) {
    lines.push(await fanoutRun(workers))
    console.error(JSON.stringify(lines.at(-1)))
  }
  const summary = {
    idle: { connections: lines[1].connections, failed: lines[1].failed },
    fanout: lines.slice(2).map(l => ({ workers: l.workers, connections: l.connections, losses: l.losses }))
  }
  console.log('BENCH-WORKERS-SUMMARY ' + JSON.stringify(summary))
  if (!SMOKE) {
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true })
    const file = path.join(root, 'bench', 'results', `workers-${stamp}.jsonl`)
    writeFileSync(file, lines.map(l => JSON.stringify(l)).join('\n') + '\n')
    console.log(`wrote ${path.relative(process.cwd(), file)}`)
    if (args.write === true) await render()
  }
  // refusals are reported (one worker cannot hold 20,000 sockets under a 20,000-file limit); a message lost is a failure
  const clean = lines[1].failed === 0 && lines.slice(2).every(l => l.losses === 0)
  process.exit(clean ? 0 : 1)
}

/** The RESULTS.md section, from the raw lines of one run (pure: bench/lib/render-all.mjs calls it). */
export function renderWorkers (lines) {
  const machine = lines.find(l => l.kind === 'machine')
  const idle = lines.find(l => l.kind === 'idle')
  const fanouts = lines.filter(l => l.kind === 'fanout')
  const n = (x, digits = 0) => Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
  const out = [
    HEADING,
    '',
    `\`node bench/workers.mjs --write\`. ${machine.cpu}, Node ${machine.node}, ${n(machine.totalMemoryMB / 1024, 1)} GB (${n(machine.freeMemoryMB / 1024, 1)} GB free at start), open files ${n(machine.openFilesLimit)} per process, loadavg at start ${machine.loadavg}; 127.0.0.1 only, the load generators on the same 2 cores as the server. Workers use \`clusterIpcAdapter()\`, the primary \`clusterPrimary()\`: no Redis.`,
    '',
    `**Idle subscribed connections**: ${n(idle.connections)} of ${n(idle.target)} over ${idle.workers} workers (${idle.perWorker.map(c => n(c)).join(' / ')}; ${n(idle.failed)} failed${idle.errorSample === null ? '' : `, first error: ${idle.errorSample}`}), from ${idle.loadGenerators} load generator processes, connected in ${n(idle.connectSeconds)} s${idle.stoppedBy === 'budget' ? ` (stopped by the connect time budget: at ${n(idle.connections / idle.connectSeconds)} connections/s on a machine at loadavg ${machine.loadavg[0]}, the target was not reachable in time)` : ''}.`,
    '',
    '| server RSS before | after | per connection | primary RSS | one broadcast: first receipt | last receipt (all connections) |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${n(idle.rssBeforeMB)} MB | ${n(idle.rssAfterMB)} MB | ${n(idle.rssPerConnKB, 1)} KB | ${n(idle.primaryRssMB)} MB | ${n(idle.broadcastFirstMs, 1)} ms | ${n(idle.broadcastLastMs, 1)} ms |`,
    '',
    `**Fan-out to ${fanouts.map(f => n(f.connections)).join(' / ')} connections** (target ${n(fanouts[0]?.target ?? 0)}${fanouts.some(f => f.stoppedBy === 'budget') ? ', short of it where the connect time budget ran out' : ''}), 1 vs 2 workers: ${fanouts[0]?.broadcasts} broadcasts of a ${fanouts[0]?.bytes}-byte message one at a time from worker 1 (after one unmeasured), from the call to the last client's receipt.`,
    '',
    '| workers | connections | refused | last receipt p50 | p99 | first receipt p50 | deliveries/s | losses |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...fanouts.map(f => `| ${f.workers} | ${n(f.connections)} | ${n(f.failed)} | ${n(f.lastP50Ms, 1)} ms | ${n(f.lastP99Ms, 1)} ms | ${n(f.firstP50Ms, 1)} ms | ${n(f.deliveriesPerSecond)} | ${n(f.losses)} |`),
    '',
    ...fanouts.filter(f => f.failed > 0 && f.target / f.workers >= machine.openFilesLimit - 100).map(f =>
      `With ${f.workers} worker${f.workers === 1 ? '' : 's'}, ${n(f.target / f.workers)} sockets per process do not fit its ${n(machine.openFilesLimit)}-file limit (the process's own files count too): ${n(f.failed)} refused.`),
    '',
    'The load generators share the 2 cores with the server (and other work ran on the machine: see loadavg), so a second worker gets no core of its own here and is not expected to raise the rate; the fan-out figures are the cost of the IPC hop, not the gain of a core. RSS per connection is without a forced GC (the memory table at the top of this file is after one).',
    ''
  ]
  return out.join('\n')
}
export { HEADING as WORKERS_HEADING }

/** --write / --render: bench/RESULTS.md rendered again, whole, from the newest raw file of every bench. */
async function render () {
  await writeResults()
}

if (isMain) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
