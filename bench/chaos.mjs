#!/usr/bin/env node
// The chaos test of issue 11 at full length: test/chaos/recovery.test.ts with
// CHAOS_SECONDS=60 (a TCP proxy resets or half-opens every connection every
// 2 s while two Redis nodes publish 50 messages/s to a history channel and
// 50/s to the client's inbox). Needs Redis at REDIS_URL (127.0.0.1:6379).
//
//   npm run build && node bench/chaos.mjs [--seconds=60] [--note=<text>]
//
// Writes the test's numbers with the machine's as JSON lines to
// bench/results/chaos-<seconds>s-<date>.jsonl (committed), then renders
// bench/RESULTS.md again from the raw files (bench/lib/chaos-report.mjs).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuModel, loadavg, parseArgs, rawFileName, writeJsonLines } from './lib/common.mjs'
import { renderChaos } from './lib/chaos-report.mjs'
import { writeResults } from './lib/results-hook.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = dirname(here)
const args = parseArgs()
const SECONDS = Number(args.seconds ?? 60)

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

const machine = {
  cpu: cpuModel(),
  cores: cpus().length,
  node: process.version,
  date: new Date().toISOString(),
  loadavgAtStart: loadavg(),
  commit: commitOf(),
  note: typeof args.note === 'string' ? args.note : ''
}
const rawFile = rawFileName('chaos', `${SECONDS}s`, machine.date)
console.log(`bench/chaos: ${SECONDS} s run; machine ${machine.cpu}, ${machine.cores} cores, loadavg ${machine.loadavgAtStart.join(' ')}`)
const { passed, failures, result, output } = runChaosTest()
for (const line of output.split('\n')) if (/^\s*# (published|Subtest)|not ok/.test(line)) console.log(line)
const raw = [
  { kind: 'meta', bench: 'chaos', mode: `${SECONDS}s`, machine: { ...machine, loadavgAtEnd: loadavg() }, seconds: SECONDS, passed, failures, rawFile },
  ...(result === undefined ? [] : [{ kind: 'result', ...result }])
]
writeJsonLines(join(root, rawFile), raw)
console.log(`raw: ${rawFile}`)
console.log(renderChaos(raw))
await writeResults()
if (!passed) process.exitCode = 1
