// Shared helpers of the benchmark: the clock every process uses, the JWT
// secret and signer, the JSON-lines control channel, percentiles and the
// machine-busyness readings from /proc.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { dirname } from 'node:path'

const require = createRequire(import.meta.url)

/** Shared across processes on one machine: epoch ms with sub-ms precision, monotonic within a process. */
export function now () {
  return performance.timeOrigin + performance.now()
}

export const SECRET = 'fastify-realtime-bench-secret-0123456789abcdef'
export const EVENT = 'system.notification'
/** The marker the fan-out payload starts with: `#<seq>#xxxx…`; clients find the seq without parsing JSON. */
export const MARKER = '"message":"#'

export function createJwtSigner () {
  const { createSigner } = require('fast-jwt')
  return createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3_600_000 })
}

/** The same check in every baseline target (the plugin uses @fastify/jwt, which is fast-jwt too). */
export function createJwtVerifier () {
  const { createVerifier } = require('fast-jwt')
  return createVerifier({ key: SECRET, algorithms: ['HS256'] })
}

/** A fan-out payload of exactly `bytes` characters carrying the broadcast number. */
export function payload (seq, bytes) {
  const head = `#${seq}#`
  return head + 'x'.repeat(Math.max(0, bytes - head.length))
}

/** Reads the seq back from a received frame (Buffer or string), or -1 when it is not a broadcast. */
export function seqOf (frame) {
  const i = frame.indexOf(MARKER)
  if (i === -1) return -1
  let seq = 0
  for (let j = i + MARKER.length; ; j++) {
    const c = typeof frame === 'string' ? frame.charCodeAt(j) : frame[j]
    if (c === 35) return seq // '#'
    if (c < 48 || c > 57 || c === undefined) return -1
    seq = seq * 10 + (c - 48)
  }
}

/**
 * Control channel of a child process: JSON lines on stdin, answers as JSON
 * lines on stdout, matched by `id`. The child exits when its parent closes
 * stdin (the runner died) and after `maxLifeMs` whatever happens.
 */
export function serveControl (handlers, { maxLifeMs = 30 * 60_000 } = {}) {
  setTimeout(() => {
    process.stderr.write(`control: life limit of ${maxLifeMs} ms reached, exiting\n`)
    process.exit(3)
  }, maxLifeMs).unref()
  const rl = createInterface({ input: process.stdin })
  rl.on('line', async (line) => {
    if (line.trim() === '') return
    let msg
    try { msg = JSON.parse(line) } catch { return }
    const handler = handlers[msg.cmd]
    try {
      if (handler === undefined) throw new Error(`unknown command ${msg.cmd}`)
      const result = await handler(msg)
      reply({ id: msg.id, ok: true, ...result })
    } catch (err) {
      reply({ id: msg.id, ok: false, error: String(err && err.stack ? err.stack : err) })
    }
  })
  rl.on('close', () => process.exit(0))
}

export function reply (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** The answers of every target to the common control commands. */
export function baseCommands (extra = {}) {
  return {
    cpu: () => ({ cpu: process.cpuUsage(), at: now() }),
    mem: async () => {
      for (let i = 0; i < 4; i++) {
        global.gc()
        await new Promise((resolve) => setImmediate(resolve))
      }
      const m = process.memoryUsage()
      return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers }
    },
    exit: () => { setImmediate(() => process.exit(0)); return {} },
    // a CPU profile of the phase between the two (bench/profile.mjs); loaded only when asked for
    profileStart: async (msg) => (await import('./profiler.mjs')).profileStart(msg),
    profileStop: async (msg) => (await import('./profiler.mjs')).profileStop(msg),
    ...extra
  }
}

export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export function median (values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2
}

/**
 * Jiffies of the whole machine. `busy` is user + nice + system + steal
 * (steal: another VM had our core); irq and softirq are kept apart because
 * the loopback traffic of the benchmark itself lands there.
 */
export function readMachineJiffies () {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f
  const busy = user + nice + system + (steal || 0)
  const interrupts = irq + softirq
  return { busy, interrupts, total: busy + interrupts + idle + (iowait || 0) }
}

/** utime + stime of one process, in jiffies; 0 when it is gone. */
export function readProcessJiffies (pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // fields after the comm: state(0) ... utime(11) stime(12)
    return Number(f[11]) + Number(f[12])
  } catch {
    return 0
  }
}

export function loadavg () {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
}

export function cpuModel () {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)
    return m ? m[1].trim() : 'unknown CPU'
  } catch {
    return 'unknown CPU'
  }
}

/** `--key=value` and `--flag` arguments as an object (a flag is `true`). */
export function parseArgs (argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k, v ?? true]
  }))
}

/**
 * Kept for scripts not yet moved to raw files: RESULTS.md is now rendered
 * whole from bench/results/ (bench/lib/render-all.mjs), and
 * `node bench/render.mjs --check` fails on a section written this way.
 * Replaces the section of bench/RESULTS.md that starts with `heading` (up to
 * the next `## `) with `section`, or appends it; the other sections stay as
 * they are, whichever script wrote them.
 */
export function replaceResultsSection (file, heading, section) {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n'
  const start = current.indexOf(heading)
  if (start === -1) return writeFileSync(file, current.replace(/\n*$/, '\n\n') + section)
  const after = current.indexOf('\n## ', start + 1)
  writeFileSync(file, current.slice(0, start) + section + (after === -1 ? '' : '\n' + current.slice(after + 1)))
}

/** The git commit of the checkout, `(lib/ modified)` appended when lib/ has uncommitted changes. */
export function gitCommit (cwd) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd, encoding: 'utf8' }).trim() !== ''
    return head + (dirty ? ' (lib/ modified)' : '')
  } catch {
    return 'unknown'
  }
}

/** What every raw file's header line says about the machine and the moment. */
export function machineInfo (cwd) {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    loadavgAtStart: loadavg(),
    commit: gitCommit(cwd)
  }
}

/**
 * bench/results/<bench>-<mode>-<date>.jsonl, relative to the repository root:
 * the raw data every RESULTS.md section is rendered from (bench/render.mjs).
 */
export function rawFileName (bench, mode, date) {
  return `bench/results/${bench}-${mode}-${date.replace(/[:.]/g, '-')}.jsonl`
}

/** One JSON value a line; the first line is the header (`kind: 'meta'`). */
export function writeJsonLines (file, lines) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
}

export function readJsonLines (file) {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l))
}
