#!/usr/bin/env node
// Targeted delivery to many small channels (issue 10), beside Socket.IO rooms
// and a hand-rolled ws hub, and the single-event fan-out of this build beside
// a baseline build of another commit (main by default): does adding channels
// slow the broadcast path down? Targets are interleaved in every round.
//
//   npm run build && node bench/channels.mjs [--quick | --smoke] [--rounds=N]
//                    [--baseline-ref=<commit> | --no-baseline] [--noise-threshold=0.2] [--note=<text>]
//
// The baseline defaults to where this branch forked from main
// (`git merge-base HEAD main`): what is compared is then this branch's
// changes alone, not whatever else main gained since.
//
// Channels: 10,000 channels `room:c<i>` of 1, 2 or 3 subscribers each over
// CONNECTIONS clients (lib/channel-plan.mjs); PASSES passes publish one
// 256-byte message to every channel as fast as the server takes them.
// Fan-out: N = 10,000 clients on one event, as in bench/run.mjs.
//
// Writes the raw runs as JSON lines to bench/results/channels-<mode>-<date>.jsonl
// (committed) and, in quick and full modes, replaces the
// "## Targeted delivery to channels" section of bench/RESULTS.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuModel, loadavg, parseArgs, replaceResultsSection } from './lib/common.mjs'
import { clientStats, noiseProbe, sleep, startLoadgens, startTarget, stopAll } from './lib/harness.mjs'
import { channels } from './lib/channels-scenario.mjs'
import { fanout } from './lib/fanout.mjs'
import { deliveriesPerPass } from './lib/channel-plan.mjs'
import { fmt, groupTable, summarize } from './lib/report.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = dirname(here)
const args = parseArgs()
const mode = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'
const CONFIGS = {
  full: { rounds: 3, channels: 10_000, connections: 5_000, passes: 5, fanoutN: 10_000, broadcasts: 20 },
  quick: { rounds: 2, channels: 10_000, connections: 2_000, passes: 3, fanoutN: 10_000, broadcasts: 10 },
  smoke: { rounds: 1, channels: 300, connections: 60, passes: 1, fanoutN: 200, broadcasts: 1 }
}
const config = { ...CONFIGS[mode], bytes: 256, fanoutBytes: 1024 }
if (args.rounds) config.rounds = Number(args.rounds)
const NOISE_THRESHOLD = Number(args['noise-threshold'] ?? 0.2)
const LOADGENS = mode === 'smoke' ? 1 : 2
const CONCURRENCY = 100
const SECTION = '## Targeted delivery to channels'
const log = (...a) => console.log(...a)

const CHANNEL_TARGETS = ['ws', 'socketio', 'fastify-realtime']
const BASELINE = 'fastify-realtime@base'

if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('bench: dist/index.js is missing: run `npm run build` first')
  process.exit(2)
}

function git (...gitArgs) {
  return execFileSync('git', gitArgs, { cwd: root, encoding: 'utf8' }).trim()
}

/**
 * The plugin built from `ref`, in <tmpdir>/fastify-realtime-baseline-<sha>/dist:
 * its lib/ from `git archive`, compiled with this checkout's TypeScript and
 * node_modules. Built once per commit; outside the checkout, so that
 * `tsc -p tsconfig.json` never type-checks an old lib/ beside the new one.
 */
function buildBaseline (ref) {
  const sha = git('rev-parse', '--short', ref)
  const label = /^[0-9a-f]{40}$/.test(ref) ? `main at the fork point` : ref
  const dir = join(tmpdir(), `fastify-realtime-baseline-${sha}`)
  const entry = join(dir, 'dist', 'index.js')
  if (!existsSync(entry)) {
    log(`bench: building ${ref} (${sha}) into ${dir}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const archive = execFileSync('git', ['archive', sha, 'lib', 'tsconfig.json', 'tsconfig.build.json'], { cwd: root })
    execFileSync('tar', ['-x', '-C', dir], { input: archive })
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' })
  }
  return { ref: label, sha, entry }
}

/** Where HEAD forked from main, named `main@<sha>`. */
function defaultBaseline () {
  return git('merge-base', 'HEAD', 'main')
}

function commitOf () {
  try {
    const dirty = git('status', '--porcelain', '--', 'lib') !== ''
    return git('rev-parse', '--short', 'HEAD') + (dirty ? ' (lib/ modified)' : '')
  } catch {
    return 'unknown'
  }
}

async function runOne ({ target, scenario, n, round, baseline }) {
  const started = Date.now()
  let server
  let lgs = []
  try {
    server = target === BASELINE
      ? await startTarget(target, { script: 'fastify-realtime', env: { REALTIME_DIST: baseline.entry, REALTIME_CHANNELS: '0' } })
      : await startTarget(target)
    lgs = await startLoadgens(target, server.info.port, n, { loadgens: LOADGENS })
    const pids = [server.pid, process.pid, ...lgs.map((l) => l.pid)]
    const probe = () => noiseProbe(pids, NOISE_THRESHOLD)
    const result = scenario === 'channels'
      ? await channels({ server, lgs, plan: { channels: config.channels, connections: n }, passes: config.passes, bytes: config.bytes, probe, concurrency: CONCURRENCY })
      : await fanout({ server, lgs, n, probe, broadcasts: config.broadcasts, bytes: config.fanoutBytes, concurrency: CONCURRENCY })
    return { target, scenario, n, round, ok: true, durationMs: Date.now() - started, ...result, ...(await clientStats(lgs)) }
  } catch (err) {
    return { target, scenario, n, round, ok: false, error: String(err?.stack ?? err), serverStderr: server?.stderr ?? '', durationMs: Date.now() - started }
  } finally {
    await stopAll(server, lgs)
    await sleep(mode === 'smoke' ? 50 : 500)
  }
}

function render ({ machine, baseline, summary, runs }) {
  const channelGroup = summary.groups.find((g) => g.scenario === 'channels')
  const fanoutGroup = summary.groups.find((g) => g.scenario === 'fanout')
  const lines = [SECTION, '']
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}; fastify-realtime at commit ${machine.commit}. \`node bench/channels.mjs${mode === 'full' ? '' : ` --${mode}`}\`: ${config.rounds} round(s), targets interleaved in every round; raw runs in \`${machine.rawFile}\`.`)
  lines.push('')
  if (channelGroup !== undefined) {
    const perPass = deliveriesPerPass(config).toLocaleString('en-US')
    lines.push(`**${config.channels.toLocaleString('en-US')} channels of 1-3 subscribers** (${perPass} subscriptions over ${config.connections.toLocaleString('en-US')} connections, about ${Math.round(deliveriesPerPass(config) / config.connections)} channels each). Each of ${config.passes} passes publishes one ${config.bytes}-byte message to every channel, as fast as the server takes them (yielding to its event loop every 500 publishes). *publishes/s*: the publishes of a pass over the time from its first call to the last subscriber's receipt (median over passes). *latency*: a publish's last receipt minus the time right before its call, over every publish of a run, so it includes the wait behind the publishes before it in the pass. Socket.IO: one room per channel, \`io.to(channel).emit\`; ws: a hand-rolled Map<channel, Set<socket>>; fastify-realtime: \`app.realtime.publish(channel, message)\` to an open namespace (no authorize).`)
    lines.push('')
    lines.push(...groupTable(channelGroup, CHANNEL_TARGETS))
    const s = channelGroup.rows.socketio
    const p = channelGroup.rows['fastify-realtime']
    if (s !== undefined && p !== undefined) {
      lines.push(`Against Socket.IO rooms: fastify-realtime publishes ${fmt(p.medians.publishesPerSec / s.medians.publishesPerSec, 2)}× as many per second, at ${fmt(p.medians.latencyP99Ms / s.medians.latencyP99Ms, 2)}× its p99 latency and ${fmt(p.medians.cpuPerPublishUs / s.medians.cpuPerPublishUs, 2)}× its server CPU per publish.`)
      lines.push('')
    }
  }
  if (fanoutGroup !== undefined) {
    const targets = ['ws', ...(baseline === undefined ? [] : [BASELINE]), 'fastify-realtime']
    lines.push(`**Single-event fan-out, N = ${fanoutGroup.n.toLocaleString('en-US')}**: ${config.broadcasts} broadcasts of 1 KiB to every client, one at a time, as in \`bench/run.mjs\`. ${baseline === undefined ? 'No baseline build was measured (--no-baseline).' : `\`${BASELINE}\` is the plugin built from ${baseline.ref} (${baseline.sha}); \`fastify-realtime\` is this build, with a channel namespace declared.`}`)
    lines.push('')
    lines.push(...groupTable(fanoutGroup, targets))
    const b = baseline === undefined ? undefined : fanoutGroup.rows[BASELINE]
    const p = fanoutGroup.rows['fastify-realtime']
    if (b !== undefined && p !== undefined) {
      lines.push(`This build against ${baseline.ref}: last-receipt p50 ×${fmt(p.medians.lastP50Ms / b.medians.lastP50Ms, 2)}, p99 ×${fmt(p.medians.lastP99Ms / b.medians.lastP99Ms, 2)}, server CPU per delivery ×${fmt(p.medians.cpuPerDeliveryUs / b.medians.cpuPerDeliveryUs, 2)} (1.00 = no change).`)
      lines.push('')
    }
  }
  const disturbed = runs.filter((r) => r.ok && r.noise.disturbed)
  const failed = runs.filter((r) => !r.ok)
  lines.push(`${runs.length} runs, ${disturbed.length} disturbed (the rest of the machine used more than ${Math.round(NOISE_THRESHOLD * 100)} % of all cores during the measured phase)${failed.length > 0 ? `, ${failed.length} failed (${failed.map((r) => `${r.scenario} ${r.target} round ${r.round}: ${r.error.split('\n')[0]}`).join('; ')})` : ''}. ${machine.note}`)
  lines.push('')
  return lines.join('\n')
}

/** Replaces this runner's section of bench/RESULTS.md, or appends it. */
function writeSection (section) {
  const file = join(here, 'RESULTS.md')
  replaceResultsSection(file, SECTION, section)
  log(`wrote ${relative(process.cwd(), file)}`)
}

async function main () {
  const baseline = args['no-baseline'] ? undefined : buildBaseline(typeof args['baseline-ref'] === 'string' ? args['baseline-ref'] : defaultBaseline())
  const load = loadavg()
  const machine = {
    cpu: cpuModel(),
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString(),
    loadavgAtStart: load,
    commit: commitOf(),
    note: typeof args.note === 'string' ? args.note : ''
  }
  const stamp = machine.date.replace(/[:.]/g, '-')
  const resultsDir = join(here, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const rawPath = join(resultsDir, `channels-${mode}-${stamp}.jsonl`)
  machine.rawFile = relative(root, rawPath)
  const raw = [JSON.stringify({ kind: 'meta', mode, config, machine, baseline: baseline ?? null, noiseThreshold: NOISE_THRESHOLD })]
  log(`bench: channels mode=${mode} rounds=${config.rounds}; machine ${machine.cpu}, ${machine.cores} cores, loadavg ${load.join(' ')}`)

  const fanoutTargets = ['ws', ...(baseline === undefined ? [] : [BASELINE]), 'fastify-realtime']
  const cases = [
    ...CHANNEL_TARGETS.map((target) => ({ target, scenario: 'channels', n: config.connections })),
    ...fanoutTargets.map((target) => ({ target, scenario: 'fanout', n: config.fanoutN }))
  ]
  const runs = []
  for (let round = 1; round <= config.rounds; round++) {
    for (const c of cases) {
      const r = await runOne({ ...c, round, baseline })
      runs.push(r)
      raw.push(JSON.stringify({ kind: 'run', ...r }))
      if (r.ok) {
        const metrics = Object.entries(r.metrics).map(([k, v]) => `${k}=${fmt(v, 2)}`).join(' ')
        log(`[round ${round}] ${r.scenario} n=${r.n} ${r.target}: ${metrics} losses=${r.losses} others=${r.noise.others}${r.noise.disturbed ? ' DISTURBED' : ''} (${r.durationMs} ms)`)
      } else {
        log(`[round ${round}] ${r.scenario} n=${r.n} ${r.target}: FAILED ${r.error.split('\n')[0]}`)
        if (r.serverStderr) log(r.serverStderr)
      }
    }
  }
  const summary = summarize(runs, [...new Set([...CHANNEL_TARGETS, ...fanoutTargets])], { noiseThreshold: NOISE_THRESHOLD })
  const section = render({ machine, baseline, summary, runs })
  log(section)
  if (mode === 'smoke') {
    rmSync(rawPath, { force: true })
  } else {
    writeFileSync(rawPath, raw.join('\n') + '\n')
    log(`raw runs: ${relative(process.cwd(), rawPath)}`)
    writeSection(section)
  }
  const losses = runs.reduce((s, r) => s + (r.ok ? r.losses : 0), 0)
  log(`BENCH-CHANNELS-SUMMARY ${JSON.stringify({ runs: runs.length, failedRuns: runs.filter((r) => !r.ok).length, losses })}`)
  process.exitCode = runs.some((r) => !r.ok) || (mode === 'smoke' && losses > 0) ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
