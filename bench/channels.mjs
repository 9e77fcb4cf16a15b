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
// (committed; not in --smoke mode) and renders bench/RESULTS.md again from the
// raw files (bench/lib/channels-report.mjs renders this section).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuModel, loadavg, parseArgs } from './lib/common.mjs'
import { clientStats, noiseProbe, sleep, startLoadgens, startTarget, stopAll } from './lib/harness.mjs'
import { channels } from './lib/channels-scenario.mjs'
import { fanout } from './lib/fanout.mjs'
import { fmt } from './lib/report.mjs'
import { BASELINE, CHANNEL_TARGETS, renderChannels } from './lib/channels-report.mjs'
import { writeResults } from './lib/results-hook.mjs'

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
const log = (...a) => console.log(...a)


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
  raw[0] = JSON.stringify({ ...JSON.parse(raw[0]), machine: { ...machine, loadavgAtEnd: loadavg() } })
  log(renderChannels(raw.map((l) => JSON.parse(l))))
  if (mode !== 'smoke') {
    writeFileSync(rawPath, raw.join('\n') + '\n')
    log(`raw runs: ${relative(process.cwd(), rawPath)}`)
    await writeResults()
  }
  const losses = runs.reduce((s, r) => s + (r.ok ? r.losses : 0), 0)
  log(`BENCH-CHANNELS-SUMMARY ${JSON.stringify({ runs: runs.length, failedRuns: runs.filter((r) => !r.ok).length, losses })}`)
  process.exitCode = runs.some((r) => !r.ok) || (mode === 'smoke' && losses > 0) ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
