#!/usr/bin/env node
// The benchmark runner: interleaves the targets (A B C D A B C D …) over
// several rounds, records how busy the rest of the machine was during each
// measured phase, leaves disturbed runs out of the medians and writes
// bench/RESULTS.md (not in --smoke mode) and raw JSON to bench/out/.
//
//   node bench/run.mjs [--quick | --smoke] [--targets=ws,fastify-websocket,socketio,fastify-realtime]
//                      [--scenarios=connect,memory,fanout,echo] [--rounds=N] [--noise-threshold=0.2]
//                      [--retry-disturbed=N] [--cpu-prof] [--report=bench/out/<raw>.json]
//                      [--metrics-overhead]   the plugin with metrics off and on, side by side (fanout, echo),
//                                             writing only the "## Metrics overhead" section of RESULTS.md
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { percentile, loadavg, cpuModel, parseArgs } from './lib/common.mjs'
import {
  clientStats, connectAll as connectClients, cpuMicros, noiseProbe, round, sleep, startLoadgens as startLoadgenProcesses,
  startTarget as startTargetProcess, stopAll
} from './lib/harness.mjs'
import { fanout } from './lib/fanout.mjs'
import { renderMarkdown, summarize } from './lib/report.mjs'
import { METRICS_OVERHEAD_HEADING, renderMetricsOverhead } from './lib/metrics-overhead.mjs'

const here = dirname(fileURLToPath(import.meta.url))
/** `fastify-realtime+metrics`: the plugin's target with `metrics: true` (targets/fastify-realtime.mjs, METRICS=1). */
const ALL_TARGETS = ['ws', 'fastify-websocket', 'socketio', 'fastify-realtime', 'fastify-realtime+metrics']
const ALL_SCENARIOS = ['connect', 'memory', 'fanout', 'echo']

const args = parseArgs()
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'

const CONFIGS = {
  full: { rounds: 5, connect: [1000, 10000], memory: [10000], fanout: [1000, 10000], broadcasts: 20, echo: { connections: 100, outstanding: 32, durationMs: 10_000 } },
  quick: { rounds: 2, connect: [1000], memory: [10000], fanout: [1000, 10000], broadcasts: 20, echo: { connections: 100, outstanding: 32, durationMs: 5_000 } },
  smoke: { rounds: 1, connect: [200], memory: [200], fanout: [200], broadcasts: 1, echo: { connections: 10, outstanding: 4, durationMs: 1_000 } }
}
const config = { ...CONFIGS[mode] }
if (args.rounds) config.rounds = Number(args.rounds)
const isMetricsOverhead = args['metrics-overhead'] === true
const DEFAULT_TARGETS = isMetricsOverhead ? ['fastify-realtime', 'fastify-realtime+metrics'] : ALL_TARGETS.filter((t) => !t.includes('+'))
const targets = args.targets ? String(args.targets).split(',') : DEFAULT_TARGETS
const scenarios = args.scenarios ? String(args.scenarios).split(',') : (isMetricsOverhead ? ['fanout', 'echo'] : ALL_SCENARIOS)
const NOISE_THRESHOLD = Number(args['noise-threshold'] ?? 0.2)
const LOADGENS = Number(args.loadgens ?? (mode === 'smoke' ? 1 : 2))
const CONCURRENCY = Number(args.concurrency ?? 100)
const PAYLOAD_BYTES = 1024
/** Runs again, right away, a run the rest of the machine disturbed (all attempts are kept in the raw data). */
const RETRY_DISTURBED = Number(args['retry-disturbed'] ?? 0)

for (const t of targets) if (!ALL_TARGETS.includes(t)) fail(`unknown target ${t}`)
for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario ${s}`)
if (targets.some((t) => t.startsWith('fastify-realtime')) && !existsSync(join(here, '..', 'dist', 'index.js'))) {
  fail('dist/index.js is missing: run `npm run build` first (or leave fastify-realtime out of --targets)')
}

function fail (msg) {
  console.error(`bench: ${msg}`)
  process.exit(2)
}

const log = (...a) => console.log(...a)

let runLabel = ''

function startTarget (target) {
  // `fastify-realtime+metrics`: the same target script with METRICS=1
  const [script, variant] = target.split('+')
  return startTargetProcess(target, {
    script,
    env: { METRICS: variant === 'metrics' ? '1' : '0' },
    ...(args['cpu-prof'] ? { cpuProfLabel: runLabel } : {})
  })
}

function startLoadgens (target, port, n) {
  return startLoadgenProcesses(target, port, n, { loadgens: LOADGENS })
}

function connectAll (lgs, n, subscribe) {
  return connectClients(lgs, n, { subscribe, concurrency: CONCURRENCY })
}

const SCENARIOS = {
  async connect ({ server, lgs, n, probe }) {
    const cpu0 = await server.request('cpu')
    const done = probe()
    const c = await connectAll(lgs, n, false)
    const noise = done()
    const cpu1 = await server.request('cpu')
    const seconds = (c.endAt - c.startAt) / 1000
    return {
      metrics: {
        connPerSec: c.established / seconds,
        handshakeP50Ms: percentile(c.handshakes, 50),
        handshakeP99Ms: percentile(c.handshakes, 99),
        cpuPerConnUs: cpuMicros(cpu0, cpu1) / c.established
      },
      established: c.established,
      failed: c.failed,
      losses: c.failed,
      noise
    }
  },

  async memory ({ server, lgs, n, probe }) {
    const m0 = await server.request('mem')
    const done = probe()
    const c = await connectAll(lgs, n, true)
    await sleep(500)
    const m1 = await server.request('mem')
    const noise = done()
    const stats = await server.request('stats')
    return {
      metrics: {
        heapPerConnKB: (m1.heapUsed - m0.heapUsed) / c.subscribed / 1024,
        rssPerConnKB: (m1.rss - m0.rss) / c.subscribed / 1024,
        baselineHeapMB: m0.heapUsed / 1048576,
        baselineRssMB: m0.rss / 1048576
      },
      established: c.established,
      subscribed: c.subscribed,
      serverConnections: stats.connections,
      failed: c.failed + (c.established - c.subscribed),
      losses: c.failed + (c.established - c.subscribed),
      noise
    }
  },

  fanout ({ server, lgs, n, probe }) {
    return fanout({ server, lgs, n, probe, broadcasts: config.broadcasts, bytes: PAYLOAD_BYTES, concurrency: CONCURRENCY })
  },

  async echo ({ server, lgs, probe }) {
    const { connections, outstanding, durationMs } = config.echo
    const c = await connectAll(lgs, connections, false)
    await sleep(200)
    const cpu0 = await server.request('cpu')
    const done = probe()
    const rs = await Promise.all(lgs.map((l) => l.request('echo', { durationMs, outstanding }, durationMs + 30_000)))
    const noise = done()
    const cpu1 = await server.request('cpu')
    const roundTrips = rs.reduce((s, r) => s + r.roundTrips, 0)
    const completed = rs.reduce((s, r) => s + r.rtts.length, 0)
    const rtts = rs.flatMap((r) => r.rtts).sort((a, b) => a - b)
    const lost = rs.reduce((s, r) => s + r.lost, 0)
    // the server also answered the pings that were in flight when the window closed
    const answered = roundTrips + connections * outstanding - lost
    return {
      metrics: {
        roundTripsPerSec: roundTrips / (durationMs / 1000),
        rttP50Ms: percentile(rtts, 50) / 1000,
        rttP99Ms: percentile(rtts, 99) / 1000,
        cpuPerRoundTripUs: cpuMicros(cpu0, cpu1) / Math.max(1, answered)
      },
      established: c.established,
      failed: c.failed,
      roundTrips,
      completed,
      lost,
      losses: c.failed + lost,
      noise
    }
  }
}

function cases () {
  const list = []
  for (const s of scenarios) {
    if (s === 'echo') list.push({ scenario: 'echo', n: config.echo.connections })
    else for (const n of config[s]) list.push({ scenario: s, n })
  }
  return list
}

/** Memory after forced GC does not depend on how busy the CPUs were: only timing scenarios can be disturbed. */
const TIMING_SCENARIOS = new Set(['connect', 'fanout', 'echo'])

async function runOne (target, scenario, n, round) {
  const started = Date.now()
  runLabel = `${target}-${scenario}-${n}-r${round}`
  let server
  let lgs = []
  try {
    server = await startTarget(target)
    lgs = await startLoadgens(target, server.info.port, n)
    const pids = [server.pid, process.pid, ...lgs.map((l) => l.pid)]
    const probe = () => noiseProbe(pids, NOISE_THRESHOLD)
    const result = await SCENARIOS[scenario]({ server, lgs, n, probe })
    if (!TIMING_SCENARIOS.has(scenario)) result.noise.disturbed = false
    const cs = await clientStats(lgs)
    return { target, scenario, n, round, ok: true, durationMs: Date.now() - started, ...result, ...cs }
  } catch (err) {
    return { target, scenario, n, round, ok: false, error: String(err?.stack ?? err), serverStderr: server?.stderr ?? '', durationMs: Date.now() - started }
  } finally {
    await stopAll(server, lgs)
    await sleep(mode === 'smoke' ? 50 : 500)
  }
}

function fmtMetrics (m) {
  return Object.entries(m).map(([k, v]) => `${k}=${Number.isFinite(v) ? round(v, 2) : v}`).join(' ')
}

function gitCommit () {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: join(here, '..'), encoding: 'utf8' }).trim() !== ''
    return head + (dirty ? ' (lib/ modified)' : '')
  } catch {
    return 'unknown'
  }
}

/** --report=<raw.json>: renders RESULTS.md again from a raw file (after editing results-notes.md, say). */
function rerender (file) {
  const raw = JSON.parse(readFileSync(file, 'utf8'))
  raw.summary = summarize(raw.runs, raw.targets, { noiseThreshold: raw.noiseThreshold })
  const isOverheadRun = raw.targets.includes('fastify-realtime+metrics') && !raw.targets.includes('ws')
  writeFileSync(join(here, 'RESULTS.md'), isOverheadRun ? replaceSection(renderMetricsOverhead(raw)) : withNotes(renderMarkdown(raw)))
  log(`wrote bench/RESULTS.md from ${file}`)
}

/**
 * bench/results-notes.md, if there is one, is appended to RESULTS.md (what
 * each change bought, profiles), and so is every section of the current
 * RESULTS.md that this runner does not write (bench/cluster.mjs --write keeps
 * its "## Cross-node delivery (Redis)" there).
 */
function withNotes (md) {
  const notesFile = join(here, 'results-notes.md')
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : ''
  const own = ['## Connect', '## Memory per', '## Fan-out of', '## Echo', '## fastify-realtime against', '## Notes', '## Where the plugin']
  for (const m of notes.matchAll(/^## .*$/gm)) own.push(m[0])
  const resultsFile = join(here, 'RESULTS.md')
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : ''
  const foreign = current.split(/\n(?=## )/).slice(1).filter((section) => !own.some((h) => section.startsWith(h)))
  return [md, notes, ...foreign].filter((x) => x !== '').map((x) => x.replace(/\n*$/, '\n')).join('\n')
}

/** The metrics-overhead run owns one section of RESULTS.md: replaced in place (or appended), the rest kept. */
function replaceSection (section) {
  const resultsFile = join(here, 'RESULTS.md')
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n'
  const parts = current.split(/\n(?=## )/)
  const at = parts.findIndex((p) => p.startsWith(METRICS_OVERHEAD_HEADING))
  const own = section.replace(/\n*$/, '\n')
  if (at === -1) parts.push(own)
  else parts[at] = own
  return parts.map((p) => p.replace(/\n*$/, '\n')).join('\n')
}

async function main () {
  if (typeof args.report === 'string') return rerender(args.report)
  const machine = {
    cpu: cpuModel(),
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    loadavgAtStart: loadavg(),
    commit: gitCommit()
  }
  log(`bench: mode=${mode} rounds=${config.rounds} targets=${targets.join(',')} scenarios=${scenarios.join(',')}`)
  log(`machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, loadavg ${machine.loadavgAtStart.join(' ')}`)
  const runs = []
  for (let round = 1; round <= config.rounds; round++) {
    for (const { scenario, n } of cases()) {
      for (const target of targets) {
        for (let attempt = 0; attempt <= RETRY_DISTURBED; attempt++) {
          const r = await runOne(target, scenario, n, round)
          runs.push(r)
          if (r.ok) {
            log(`[round ${round}] ${scenario} n=${n} ${target}: ${fmtMetrics(r.metrics)} losses=${r.losses} others=${r.noise.others}${r.noise.disturbed ? ' DISTURBED' : ''} (${r.durationMs} ms)`)
          } else {
            log(`[round ${round}] ${scenario} n=${n} ${target}: FAILED ${r.error.split('\n')[0]}`)
            if (r.serverStderr) log(r.serverStderr)
          }
          if (!r.ok || !r.noise.disturbed) break
        }
      }
    }
  }

  const summary = summarize(runs, targets, { noiseThreshold: NOISE_THRESHOLD })
  const outDir = join(here, 'out')
  mkdirSync(outDir, { recursive: true })
  const stamp = machine.date.replace(/[:.]/g, '-')
  const raw = { mode, config, targets, scenarios, noiseThreshold: NOISE_THRESHOLD, machine, runs, summary }
  const outFile = join(outDir, `${mode}-${stamp}.json`)
  writeFileSync(outFile, JSON.stringify(raw, null, 1))
  log(`raw results: ${outFile}`)
  const md = isMetricsOverhead ? renderMetricsOverhead(raw) : renderMarkdown(raw)
  if (isMetricsOverhead) {
    log(md)
    if (mode !== 'smoke') {
      writeFileSync(join(here, 'RESULTS.md'), replaceSection(md))
      log(`wrote the "${METRICS_OVERHEAD_HEADING}" section of bench/RESULTS.md`)
    }
  } else if (mode === 'smoke') {
    log(md)
  } else {
    writeFileSync(join(here, 'RESULTS.md'), withNotes(md))
    log(md)
    log('wrote bench/RESULTS.md')
  }

  // machine-readable line for the smoke test
  const perTarget = {}
  for (const t of targets) {
    const rs = runs.filter((r) => r.target === t)
    perTarget[t] = {
      runs: rs.length,
      failedRuns: rs.filter((r) => !r.ok).length,
      losses: rs.reduce((s, r) => s + (r.ok ? r.losses : 0), 0),
      unexpectedCloses: rs.reduce((s, r) => s + (r.unexpectedCloses ?? 0), 0)
    }
  }
  log(`BENCH-SUMMARY ${JSON.stringify(perTarget)}`)
  const broken = Object.values(perTarget).some((p) => p.failedRuns > 0 || (mode === 'smoke' && p.losses > 0))
  process.exitCode = broken ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
