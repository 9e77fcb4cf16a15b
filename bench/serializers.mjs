#!/usr/bin/env node
// Issue 15, serialization: server CPU per echo round trip and per fan-out
// delivery of several builds of the plugin against the envelope floor (raw
// ws sending the seed's full envelope, bench/targets/ws.mjs), interleaved in
// every round (ws, build 1, build 2, … in turn, the order rotated by one each
// round), so that every build sees the same machine.
//
//   npm run build && node bench/serializers.mjs --builds=before:bench/out/baseline-dist,after:dist
//       [--rounds=3] [--echo-ms=4000] [--fanout-n=1000] [--broadcasts=20] [--cpu-prof]
//   node bench/serializers.mjs --report=bench/results/serializers-<date>.json[,<another session>.json] [--commentary=bench/results/serializers-notes.md]
//       (prints the section for those sessions; RESULTS.md itself is rendered by bench/render.mjs from every session)
//
// A build is a name and a dist/ directory (a copy of dist/ made before a
// change: `cp -r dist bench/out/<name>-dist`). Raw runs go to
// bench/results/serializers-<date>.json (committed); the section
// "## Serialization (issue 15)" of bench/RESULTS.md is rendered from it.
// Loopback only, bounded: each run is one fresh server and two load
// generators for a few seconds.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { execFileSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { percentile, loadavg, cpuModel, parseArgs, median } from './lib/common.mjs'
import { writeResults } from './lib/results-hook.mjs'
import { connectAll, cpuMicros, noiseProbe, sleep, startLoadgens, startTarget, stopAll, PROFILE_DIR } from './lib/harness.mjs'
import { fanout } from './lib/fanout.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = dirname(here)
const HEADING = '## Serialization (issue 15)'
const FLOOR = 'ws'
/** The goal of issue 15: the plugin's CPU per round trip at most 0.9x the envelope floor's. */
const GOAL = 0.9
const NOISE_THRESHOLD = 0.2
const ECHO = { connections: 100, outstanding: 32 }
const PAYLOAD_BYTES = 1024

const args = parseArgs()

function fmt (v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : '–'
}

async function runOne ({ target, dist, scenario, round, config }) {
  const started = Date.now()
  let server
  let lgs = []
  try {
    const cpuProfLabel = args['cpu-prof'] ? `serializers-${target}-${scenario}-r${round}` : undefined
    server = dist === undefined
      ? await startTarget(FLOOR, { cpuProfLabel })
      : await startTarget(target, { script: 'fastify-realtime', env: { REALTIME_DIST: join(dist, 'index.js') }, cpuProfLabel })
    const n = scenario === 'echo' ? ECHO.connections : config.fanoutN
    lgs = await startLoadgens(target, server.info.port, n, { loadgens: 2 })
    const pids = [server.pid, process.pid, ...lgs.map((l) => l.pid)]
    const probe = () => noiseProbe(pids, NOISE_THRESHOLD)
    if (scenario === 'fanout') {
      const r = await fanout({ server, lgs, n, probe, broadcasts: config.broadcasts, bytes: PAYLOAD_BYTES, concurrency: 100 })
      return { target, scenario, n, round, ok: r.losses === 0, value: r.metrics.cpuPerDeliveryUs, losses: r.losses, noise: r.noise, durationMs: Date.now() - started }
    }
    const c = await connectAll(lgs, n, { subscribe: false, concurrency: 100 })
    await sleep(200)
    const cpu0 = await server.request('cpu')
    const done = probe()
    const rs = await Promise.all(lgs.map((l) => l.request('echo', { durationMs: config.echoMs, outstanding: ECHO.outstanding }, config.echoMs + 30_000)))
    const noise = done()
    const cpu1 = await server.request('cpu')
    const roundTrips = rs.reduce((s, r) => s + r.roundTrips, 0)
    const lost = rs.reduce((s, r) => s + r.lost, 0)
    const rtts = rs.flatMap((r) => r.rtts).sort((a, b) => a - b)
    // the server also answered the pings in flight when the window closed (as in bench/run.mjs)
    const answered = roundTrips + c.established * ECHO.outstanding - lost
    return {
      target, scenario, n, round, ok: lost === 0 && c.failed === 0,
      value: cpuMicros(cpu0, cpu1) / Math.max(1, answered),
      roundTripsPerSec: roundTrips / (config.echoMs / 1000),
      rttP50Ms: percentile(rtts, 50) / 1000,
      losses: lost + c.failed, noise, durationMs: Date.now() - started
    }
  } catch (err) {
    return { target, scenario, round, ok: false, error: String(err?.stack ?? err), serverStderr: server?.stderr ?? '', durationMs: Date.now() - started }
  } finally {
    await stopAll(server, lgs)
    await sleep(300)
  }
}

/** Per scenario and build: each round's value / the floor's of the same round; median, min and max of those. */
export function summarize ({ runs, builds }) {
  const out = []
  for (const scenario of ['echo', 'fanout']) {
    const at = runs.filter((r) => r.ok && r.scenario === scenario)
    const rounds = [...new Set(at.map((r) => r.round))].sort((a, b) => a - b)
    const valueOf = (target, round) => at.find((r) => r.target === target && r.round === round)?.value
    const floor = median(at.filter((r) => r.target === FLOOR).map((r) => r.value))
    const rows = [{ target: FLOOR, value: floor, ratios: [], vsFirst: [], vsPrevious: [] }]
    builds.forEach((b, i) => {
      const paired = (other) => rounds.map((round) => valueOf(b.name, round) / valueOf(other, round)).filter(Number.isFinite)
      const ratios = paired(FLOOR)
      const vsFirst = paired(builds[0].name)
      const vsPrevious = i === 0 ? [] : paired(builds[i - 1].name)
      rows.push({ target: b.name, value: median(at.filter((r) => r.target === b.name).map((r) => r.value)), ratios, vsFirst, vsPrevious })
    })
    out.push({ scenario, rows, disturbed: at.filter((r) => r.noise?.disturbed).length, runs: at.length })
  }
  return out
}

/** One session's line: its command, machine and load. */
function sessionLine ({ machine, config, builds, file }) {
  return `\`node bench/serializers.mjs --builds=${builds.map((b) => `${b.name}:${b.dist}`).join(',')} --rounds=${config.rounds} --echo-ms=${config.echoMs} --fanout-n=${config.fanoutN} --broadcasts=${config.broadcasts}\` on ${machine.date.slice(0, 16)} UTC (${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average at start ${machine.loadavgAtStart.join(' ')}, at end ${machine.loadavgAtEnd.join(' ')}; commit ${machine.commit}; order ${config.rotated ? 'rotated by one each round' : 'the same every round'}): \`${file}\`.`
}

/** Several sessions of the same builds as one: their rounds side by side (each round's pairs stay within the round). */
function merge (raws) {
  const runs = raws.flatMap((r, k) => r.runs.map((run) => ({ ...run, round: k * 1000 + run.round })))
  // every build any session measured, in the order they first appear (a later session may add one)
  const builds = []
  for (const raw of raws) for (const b of raw.builds) if (!builds.some((x) => x.name === b.name)) builds.push(b)
  return { ...raws[0], builds, runs, sessions: raws }
}

function render (raw) {
  const { builds, runs } = raw
  const config = { ...raw.config, rotated: raw.sessions.every((s) => s.config.rotated) }
  const summary = summarize(raw)
  const lines = [HEADING, '']
  lines.push(`${raw.sessions.length === 1 ? 'One session' : `${raw.sessions.length} sessions, their ${raw.sessions.reduce((n, s) => n + s.config.rounds, 0)} rounds pooled`}. Raw runs in bench/results/:`, '')
  for (const session of raw.sessions) lines.push(`- ${sessionLine(session)}`)
  lines.push('')
  lines.push(`Builds: ${builds.map((b) => `\`${b.name}\` ${b.note ?? `(${b.dist})`}`).join('; ')}. \`${FLOOR}\` is the envelope floor: raw ws 8 sending the seed's full envelope (ISO timestamps and a UUID on every pong, JSON.stringify, bench/lib/hand-rolled.mjs). In every round each target runs once, in turn${config.rotated ? ' (the order rotated by one each round)' : ''}, as a fresh server with two fresh load generators: echo is ${ECHO.connections} clients with ${ECHO.outstanding} pings in flight each for ${config.echoMs / 1000} s (server CPU per round trip); fan-out is ${config.fanoutN.toLocaleString('en-US')} subscribed clients and ${config.broadcasts} broadcasts of ${PAYLOAD_BYTES} bytes, one at a time (server CPU per delivery). Ratios are paired: a build's figure over the floor's (or over \`${builds[0].name}\`'s) of the same round; the cell is the median over rounds with [min–max].`)
  lines.push('')
  lines.push(`| scenario | target | server CPU µs (median) | / ${FLOOR} per round: median [min–max] | / ${builds[0].name} per round | / the build before it per round (what the change bought) |`)
  lines.push('|---|---|---:|---:|---:|---:|')
  const spread = (xs) => xs.length === 0 ? '–' : `${fmt(median(xs), 3)} [${fmt(Math.min(...xs), 3)}–${fmt(Math.max(...xs), 3)}]`
  for (const s of summary) {
    for (const row of s.rows) {
      const unit = s.scenario === 'echo' ? 'per round trip' : 'per delivery'
      lines.push(`| ${s.scenario} (${unit}) | \`${row.target}\` | ${fmt(row.value, 2)} | ${row.target === FLOOR ? '1' : spread(row.ratios)} | ${spread(row.target === builds[0].name ? [] : row.vsFirst)} | ${spread(row.vsPrevious)} |`)
    }
  }
  lines.push('')
  const others = runs.filter((r) => r.noise !== undefined).map((r) => r.noise.others)
  const failed = runs.filter((r) => !r.ok).length
  const echo = summary.find((s) => s.scenario === 'echo')
  const last = echo?.rows.at(-1)
  const met = last !== undefined && last.ratios.length > 0 ? (median(last.ratios) <= GOAL ? 'met' : '**not met**') : '–'
  lines.push(`Goal of issue 15: echo CPU per round trip at most ${GOAL}x the envelope floor: ${met} by \`${last?.target}\` (median ${fmt(median(last?.ratios ?? []), 3)}). Other processes used a median ${fmt(median(others) * 100, 0)} % of all cores during the measured phases; ${runs.filter((r) => r.noise?.disturbed).length} of ${runs.length} runs were over ${NOISE_THRESHOLD * 100} % (kept: every build of a round saw the same machine, and the spread shows what that noise does); ${failed} run(s) failed or lost a message.`)
  lines.push('')
  if (raw.notes !== undefined) lines.push(raw.notes, '')
  return lines.join('\n')
}

function gitCommit () {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: root, encoding: 'utf8' }).trim() !== ''
    return head + (dirty ? ' (lib/ modified)' : '')
  } catch {
    return 'unknown'
  }
}

async function main () {
  if (typeof args.report === 'string') {
    const raw = merge(args.report.split(',').map((file) => JSON.parse(readFileSync(file, 'utf8'))))
    if (typeof args.commentary === 'string') raw.notes = readFileSync(args.commentary, 'utf8').trim()
    console.log(render(raw))
    return
  }
  const builds = String(args.builds ?? 'current:dist').split(',').map((spec) => {
    const [name, dist] = spec.split(':')
    return { name, dist }
  })
  const notes = typeof args.notes === 'string' ? args.notes.split('|') : []
  builds.forEach((b, i) => { if (notes[i]) b.note = notes[i] })
  const config = {
    rounds: Number(args.rounds ?? 3),
    echoMs: Number(args['echo-ms'] ?? 4000),
    fanoutN: Number(args['fanout-n'] ?? 1000),
    broadcasts: Number(args.broadcasts ?? 20),
    scenarios: String(args.scenarios ?? 'echo,fanout').split(','),
    rotated: true
  }
  const machine = { cpu: cpuModel(), cores: cpus().length, node: process.version, date: new Date().toISOString(), loadavgAtStart: loadavg(), commit: gitCommit() }
  const runs = []
  for (let round = 1; round <= config.rounds; round++) {
    for (const scenario of config.scenarios) {
      const targets = [{ target: FLOOR }, ...builds.map((b) => ({ target: b.name, dist: resolve(root, b.dist) }))]
      // the order rotates every round, so that no target always runs first or right after another
      const shift = (round - 1) % targets.length
      for (const t of [...targets.slice(shift), ...targets.slice(0, shift)]) {
        const r = await runOne({ ...t, scenario, round, config })
        runs.push(r)
        console.log(`r${round} ${scenario} ${t.target}: ${r.ok ? `${fmt(r.value, 2)} µs` : `FAILED ${r.error ?? `losses ${r.losses}`}`} others=${r.noise?.others}`)
      }
    }
  }
  machine.loadavgAtEnd = loadavg()
  const stamp = machine.date.replace(/[:.]/g, '-')
  const file = `bench/results/serializers-${stamp}.json`
  mkdirSync(join(root, 'bench', 'results'), { recursive: true })
  const session = { kind: 'serializers', machine, config, builds, runs, file, profiles: args['cpu-prof'] ? PROFILE_DIR : undefined }
  writeFileSync(join(root, file), JSON.stringify(session, null, 1) + '\n')
  console.log(`raw: ${file}`)
  if (!args['no-write']) await writeResults()
}

/**
 * The RESULTS.md section from every committed session (bench/results/serializers-*.json),
 * pooled, with bench/results/serializers-notes.md (prose only) after it.
 */
export function renderSerializers (sessions, notes) {
  const raw = merge(sessions)
  if (notes !== undefined) raw.notes = notes
  return render(raw)
}
export { HEADING as SERIALIZERS_HEADING }

// not a top-level await: main() renders RESULTS.md through render-all.mjs,
// which imports this module, and a module still evaluating its top-level
// await cannot be imported (Node exits 13)
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}
