#!/usr/bin/env node
// The benchmark runner: interleaves the targets (A B C D A B C D …) over
// several rounds, records how busy the rest of the machine was during each
// measured phase, leaves disturbed runs out of the medians, writes the raw
// runs as JSON lines to bench/results/run-<mode>-<date>.jsonl (not in --smoke
// mode) and renders bench/RESULTS.md from the raw files (bench/render.mjs).
//
//   node bench/run.mjs [--quick | --smoke] [--targets=ws,fastify-websocket,socketio,fastify-realtime]
//                      [--scenarios=connect,memory,fanout,echo] [--rounds=N] [--noise-threshold=0.2]
//                      [--retry-disturbed=N] [--cpu-prof]
//                      [--metrics-overhead]   the plugin with metrics off and on, side by side (fanout, echo);
//                                             raw file bench/results/metrics-overhead-<mode>-<date>.jsonl
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { percentile, loadavg, machineInfo, parseArgs, rawFileName, writeJsonLines } from './lib/common.mjs'
import {
  clientStats, connectAll as connectClients, cpuMicros, noiseProbe, round, sleep, startLoadgens as startLoadgenProcesses,
  startTarget as startTargetProcess, stopAll
} from './lib/harness.mjs'
import { fanout } from './lib/fanout.mjs'
import { renderRun } from './lib/report.mjs'
import { renderMetricsOverhead } from './lib/metrics-overhead.mjs'
import { writeResults } from './lib/results-hook.mjs'

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

async function main () {
  if (args.report !== undefined) fail('--report is gone: `node bench/render.mjs [bench/results/<raw>.jsonl]` renders RESULTS.md from raw files')
  const machine = machineInfo(join(here, '..'))
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

  // the raw data: a header line, then one line per run; RESULTS.md is rendered from it alone
  const bench = isMetricsOverhead ? 'metrics-overhead' : 'run'
  const rawFile = rawFileName(bench, mode, machine.date)
  const lines = [
    { kind: 'meta', bench, mode, config, targets, scenarios, noiseThreshold: NOISE_THRESHOLD, retryDisturbed: RETRY_DISTURBED, loadgens: LOADGENS, concurrency: CONCURRENCY, machine: { ...machine, loadavgAtEnd: loadavg() }, rawFile },
    ...runs.map((r) => ({ kind: 'run', ...r, ...(r.serverStderr ? { serverStderr: r.serverStderr.slice(-4000) } : {}) }))
  ]
  log(isMetricsOverhead ? renderMetricsOverhead(lines) : renderRun(lines))
  if (mode !== 'smoke') {
    writeJsonLines(join(here, '..', rawFile), lines)
    log(`raw results: ${rawFile}`)
    await writeResults()
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
