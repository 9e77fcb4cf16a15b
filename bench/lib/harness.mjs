// What every runner (run.mjs, channels.mjs) does with its processes: start
// a target server and its load generators, open N clients over them, read
// their counters, and measure how busy the rest of the machine was.
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Child } from './child.mjs'
import { readMachineJiffies, readProcessJiffies, loadavg } from './common.mjs'

const bench = dirname(dirname(fileURLToPath(import.meta.url)))
export const PROFILE_DIR = join(bench, 'out', 'profiles')

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function round (x, d = 2) {
  const f = 10 ** d
  return Math.round(x * f) / f
}

export function cpuMicros (a, b) {
  return (b.cpu.user - a.cpu.user) + (b.cpu.system - a.cpu.system)
}

/** n items in `parts` contiguous shares: [{ from, count }]. */
export function split (n, parts) {
  const out = []
  let from = 0
  for (let i = 0; i < parts; i++) {
    const count = Math.floor(n / parts) + (i < n % parts ? 1 : 0)
    out.push({ from, count })
    from += count
  }
  return out.filter((s) => s.count > 0)
}

/** Machine busyness over a measured phase: the share of all cores used by processes other than ours. */
export function noiseProbe (pids, threshold) {
  const m0 = readMachineJiffies()
  const p0 = pids.map(readProcessJiffies)
  const l0 = loadavg()
  return () => {
    const m1 = readMachineJiffies()
    const ours = pids.map(readProcessJiffies).reduce((s, j, i) => s + Math.max(0, j - p0[i]), 0)
    const total = m1.total - m0.total
    const busy = m1.busy - m0.busy
    const others = total > 0 ? Math.max(0, (busy - ours) / total) : 0
    return {
      others: round(others, 3),
      machineBusy: total > 0 ? round(busy / total, 3) : 0,
      interrupts: total > 0 ? round((m1.interrupts - m0.interrupts) / total, 3) : 0,
      loadavg1: l0[0],
      disturbed: others > threshold
    }
  }
}

/**
 * A target server (bench/targets/<script>.mjs) in a fresh `node --expose-gc`.
 * `script` defaults to the target's name; `env` reaches the script (a target
 * run from another build, say).
 */
export async function startTarget (target, { script = target, env = {}, cpuProfLabel } = {}) {
  const nodeArgs = ['--expose-gc']
  if (cpuProfLabel !== undefined) {
    mkdirSync(PROFILE_DIR, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${cpuProfLabel}.cpuprofile`)
  }
  const server = new Child(`server:${target}`, join(bench, 'targets', `${script}.mjs`), { nodeArgs, env: { PORT: '0', ...env } })
  await server.ready
  return server
}

/** Up to `loadgens` load generator processes (socket.io-client ones for Socket.IO). */
export async function startLoadgens (target, port, n, { loadgens }) {
  const count = Math.max(1, Math.min(loadgens, n))
  const lgs = []
  for (let i = 0; i < count; i++) {
    lgs.push(new Child(`loadgen${i}:${target}`, join(bench, 'loadgen.mjs'), {
      env: { KIND: target === 'socketio' ? 'socketio' : 'ws', PORT: String(port), LG_INDEX: String(i) }
    }))
  }
  await Promise.all(lgs.map((l) => l.ready))
  return lgs
}

/**
 * Opens n clients spread over the load generators, `concurrency` handshakes
 * in flight in all. `subscribe`: false, true (the fan-out event), or
 * `{ channels, connections }`, the channel plan of lib/channel-plan.mjs.
 */
export async function connectAll (lgs, n, { subscribe, concurrency }) {
  const shares = split(n, lgs.length)
  const per = Math.max(1, Math.floor(concurrency / lgs.length))
  const res = await Promise.all(shares.map((s, i) =>
    lgs[i].request('connect', { from: s.from, count: s.count, concurrency: per, subscribe }, 180_000)))
  const handshakes = res.flatMap((r) => r.handshakes).sort((a, b) => a - b)
  return {
    established: res.reduce((s, r) => s + r.established, 0),
    failed: res.reduce((s, r) => s + r.failed, 0),
    subscribed: res.reduce((s, r) => s + r.subscribed, 0),
    subscriptions: res.reduce((s, r) => s + r.subscriptions, 0),
    startAt: Math.min(...res.map((r) => r.startAt)),
    endAt: Math.max(...res.map((r) => r.endAt)),
    handshakes
  }
}

export async function clientStats (lgs) {
  const st = await Promise.all(lgs.map((l) => l.request('stats')))
  return {
    unexpectedCloses: st.reduce((s, x) => s + x.unexpectedCloses, 0),
    clientErrors: st.reduce((s, x) => s + x.errors, 0),
    errorSample: st.map((x) => x.errorSample).find((x) => x) ?? null,
    extensions: st[0]?.extensions ?? ''
  }
}

/** Stops a run's processes: load generators first, then the server. */
export async function stopAll (server, lgs) {
  await Promise.all(lgs.map((l) => l.stop()))
  await server?.stop()
}
