import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

// Runs the benchmark in --smoke mode (a few hundred connections, one
// broadcast, each target once) so a broken benchmark is noticed. No timing
// is asserted: only that it finishes and every client got every message.

interface TargetSummary {
  runs: number
  failedRuns: number
  losses: number
  unexpectedCloses: number
}

const root = resolve(__dirname, '..')
const hasBuild = existsSync(resolve(root, 'dist', 'index.js'))
const targets = ['ws', 'fastify-websocket', 'socketio', ...(hasBuild ? ['fastify-realtime'] : [])]

// two runners of up to 200 s each, one after the other
t.setTimeout(420_000)

function runBench (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, args, {
      cwd: root,
      timeout: 200_000,
      maxBuffer: 16 * 1024 * 1024
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      done({ code, stdout, stderr })
    })
  })
}

t.test('bench --smoke runs every target with zero losses', async (t) => {
  if (!hasBuild) t.comment('dist/index.js is missing (run npm run build): fastify-realtime left out')
  const { code, stdout, stderr } = await runBench(['bench/run.mjs', '--smoke', `--targets=${targets.join(',')}`])
  t.equal(code, 0, 'the runner exits 0', { stderr: stderr.slice(-2000), stdout: stdout.slice(-4000) })
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH-SUMMARY '))
  t.ok(line, 'the runner prints its summary line')
  if (line === undefined) return
  const summary = JSON.parse(line.slice('BENCH-SUMMARY '.length)) as Record<string, TargetSummary>
  for (const target of targets) {
    const s = summary[target]
    t.ok(s, `${target} ran`)
    if (s === undefined) continue
    t.equal(s.runs, 4, `${target}: one run per scenario`)
    t.equal(s.failedRuns, 0, `${target}: no run failed`)
    t.equal(s.losses, 0, `${target}: zero losses`)
    t.equal(s.unexpectedCloses, 0, `${target}: no connection closed by the server`)
  }
})

t.test('bench/channels.mjs --smoke publishes to every channel with zero losses', { skip: hasBuild ? false : 'dist/index.js is missing (run npm run build)' }, async (t) => {
  const { code, stdout, stderr } = await runBench(['bench/channels.mjs', '--smoke', '--no-baseline'])
  t.equal(code, 0, 'the runner exits 0', { stderr: stderr.slice(-2000), stdout: stdout.slice(-4000) })
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH-CHANNELS-SUMMARY '))
  t.ok(line, 'the runner prints its summary line')
  if (line === undefined) return
  // ws, Socket.IO and the plugin on channels, ws and the plugin on fan-out
  t.same(JSON.parse(line.slice('BENCH-CHANNELS-SUMMARY '.length)), { runs: 5, failedRuns: 0, losses: 0 })
  t.match(stdout, /\| fastify-realtime \| [\d,]+ \|/, 'the channels table has the plugin\'s row')
})

t.test('bench/workers.mjs --smoke: node:cluster workers on one port reach every connection', { skip: hasBuild ? false : 'dist/index.js is missing (run npm run build)' }, async (t) => {
  const { code, stdout, stderr } = await runBench(['bench/workers.mjs', '--smoke'])
  t.equal(code, 0, 'the runner exits 0', { stderr: stderr.slice(-2000), stdout: stdout.slice(-4000) })
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH-WORKERS-SUMMARY '))
  t.ok(line, 'the runner prints its summary line')
  if (line === undefined) return
  t.same(JSON.parse(line.slice('BENCH-WORKERS-SUMMARY '.length)), {
    idle: { connections: 300, failed: 0 },
    fanout: [{ workers: 1, connections: 200, losses: 0 }, { workers: 2, connections: 200, losses: 0 }]
  })
})

t.test('bench/redis-throughput.mjs --smoke crosses Redis with batching off and on, losing and reordering nothing', { skip: hasBuild ? false : 'dist/index.js is missing (run npm run build)' }, async (t) => {
  const { code, stdout, stderr } = await runBench(['bench/redis-throughput.mjs', '--smoke'])
  t.equal(code, 0, 'the runner exits 0', { stderr: stderr.slice(-2000), stdout: stdout.slice(-4000) })
  if (stdout.includes('Redis not reachable')) return
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH-REDIS-SUMMARY '))
  t.ok(line, 'the runner prints its summary line')
  if (line === undefined) return
  // one process, then batching off, auto-pipelining and on
  t.same(JSON.parse(line.slice('BENCH-REDIS-SUMMARY '.length)), { runs: 4, failedRuns: 0, losses: 0, reorders: 0 })
})
