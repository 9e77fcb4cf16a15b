#!/usr/bin/env node
// The chaos test of issue 11 at full length: test/chaos/recovery.test.ts with
// CHAOS_SECONDS=60 (a TCP proxy resets or half-opens every connection every
// 2 s while two Redis nodes publish 50 messages/s to a history channel and
// 50/s to the client's inbox). Needs Redis at REDIS_URL (127.0.0.1:6379).
//
//   npm run build && node bench/chaos.mjs [--seconds=60] [--note=<text>]
//
// Writes the test's numbers with the machine's as JSON to
// bench/results/chaos-<date>.json (committed) and replaces the
// "## Chaos: recovery across cut connections" section of bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuModel, loadavg, parseArgs, replaceResultsSection } from './lib/common.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = dirname(here)
const args = parseArgs()
const SECONDS = Number(args.seconds ?? 60)
const SECTION = '## Chaos: recovery across cut connections'

if (!(SECONDS > 0)) {
  console.error('bench/chaos: --seconds must be a positive number')
  process.exit(2)
}

function commitOf () {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

/** Runs the chaos test once; its numbers come back through CHAOS_RESULT_FILE. */
function runChaosTest () {
  const resultFile = join(tmpdir(), `fastify-realtime-chaos-${process.pid}.json`)
  rmSync(resultFile, { force: true })
  const run = spawnSync('npx', ['tap', '--disable-coverage', `--timeout=${SECONDS + 180}`, 'test/chaos/recovery.test.ts'], {
    cwd: root,
    env: { ...process.env, CHAOS_SECONDS: String(SECONDS), CHAOS_RESULT_FILE: resultFile },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`
  const result = existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : undefined
  rmSync(resultFile, { force: true })
  const failures = output.split('\n').filter((line) => /^\s*not ok /.test(line)).map((line) => line.trim())
  return { passed: run.status === 0, failures, result, output }
}

function ms (value) {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a'
}

function render ({ machine, passed, failures, result }) {
  const lines = [SECTION, '']
  lines.push(`${machine.date.slice(0, 10)}, commit ${machine.commit}, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
    `load average at start ${machine.loadavgAtStart.join(' ')}${machine.note === '' ? '' : `; ${machine.note}`}. Raw: \`${machine.rawFile}\`.`)
  lines.push('')
  lines.push(`\`node bench/chaos.mjs --seconds=${SECONDS}\` runs \`test/chaos/recovery.test.ts\`: a TCP proxy between the client and two nodes ` +
    '(Redis adapter, in one process) resets every connection every 2 s, one cut in three half-opening it instead (left open, nothing forwarded: ' +
    'the client notices by a missing pong), while the nodes publish 50 messages/s to a channel with history and 50/s to the client\'s inbox. ' +
    'Delay: from publish to the app\'s listener, over every message (those published during an outage wait for the reconnect).')
  lines.push('')
  if (result === undefined) {
    lines.push(`**The run produced no result** (the test failed before its end): ${failures.slice(0, 5).join('; ') || 'see the output'}.`)
    return lines.join('\n') + '\n'
  }
  const total = result.published.channel + result.published.inbox
  lines.push('| | channel | inbox |')
  lines.push('|---|---:|---:|')
  lines.push(`| published | ${result.published.channel} | ${result.published.inbox} |`)
  lines.push(`| delivered to the app | ${result.delivered.channel} | ${result.delivered.inbox} |`)
  lines.push('')
  lines.push('| measure | value |')
  lines.push('|---|---:|')
  lines.push(`| delivered exactly once, in order | ${passed ? 'yes' : '**no**'} (${(result.deliveredShare * 100).toFixed(1)} % of ${total}) |`)
  lines.push(`| duplicates delivered | ${result.duplicates} |`)
  lines.push(`| gaps reported (not recovered) | ${result.gaps} |`)
  lines.push(`| connections through the proxy | ${result.proxy.connections} (${result.proxy.resets} reset, ${result.proxy.halfOpens} half-open) |`)
  lines.push(`| recoveries (streams replayed) | ${result.recoveries}, ${result.missedReplayed} messages |`)
  lines.push(`| delay p50 | ${ms(result.delayMs.p50)} |`)
  lines.push(`| delay p99 | ${ms(result.delayMs.p99)} |`)
  lines.push(`| delay max | ${ms(result.delayMs.max)} |`)
  if (!passed) {
    lines.push('')
    lines.push(`Failed assertions: ${failures.slice(0, 8).join('; ')}`)
  }
  return lines.join('\n') + '\n'
}

function writeSection (section) {
  const file = join(here, 'RESULTS.md')
  replaceResultsSection(file, SECTION, section)
  console.log(`wrote ${relative(process.cwd(), file)}`)
}

const machine = {
  cpu: cpuModel(),
  cores: cpus().length,
  node: process.version,
  date: new Date().toISOString(),
  loadavgAtStart: loadavg(),
  commit: commitOf(),
  note: typeof args.note === 'string' ? args.note : ''
}
const resultsDir = join(here, 'results')
mkdirSync(resultsDir, { recursive: true })
const rawPath = join(resultsDir, `chaos-${machine.date.replace(/[:.]/g, '-')}.json`)
machine.rawFile = relative(root, rawPath)
console.log(`bench/chaos: ${SECONDS} s run; machine ${machine.cpu}, ${machine.cores} cores, loadavg ${machine.loadavgAtStart.join(' ')}`)
const { passed, failures, result, output } = runChaosTest()
for (const line of output.split('\n')) if (/^\s*# (published|Subtest)|not ok/.test(line)) console.log(line)
writeFileSync(rawPath, JSON.stringify({ kind: 'chaos', machine, seconds: SECONDS, passed, failures, result: result ?? null }, null, 2) + '\n')
console.log(`raw: ${relative(process.cwd(), rawPath)}`)
const section = render({ machine, passed, failures, result })
console.log(section)
writeSection(section)
process.exitCode = passed ? 0 : 1
