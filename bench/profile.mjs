#!/usr/bin/env node
// Where the server's CPU goes, by layer: a CPU profile of each target's
// measured phase (connect, echo, fan-out, channels), taken inside the server process
// (bench/lib/profiler.mjs) and split into the plugin's own code, Fastify,
// ws, the JWT check, Node's JavaScript, native code (system calls, the HTTP
// parser, crypto) and GC. Issue 15 asks, for each goal not met, for "the
// profile that shows where the time goes": this is it, rendered into
// bench/RESULTS.md ("Where the server's CPU goes") from the committed raw file.
//
//   npm run build && node bench/profile.mjs [--rounds=2] [--targets=ws,fastify-websocket,socketio,fastify-realtime]
//       [--scenarios=connect,echo,fanout,channels] [--connect-n=2000] [--fanout-n=5000] [--broadcasts=10] [--echo-ms=4000]
//
// Raw data: bench/results/profile-<mode>-<date>.jsonl (a meta line, then one
// line per run: the server's CPU over the phase, the sampled self time by
// layer and the top functions). A profiler makes the code it samples slower:
// the report scales each layer's share of the sampled time to the CPU the
// server used (process.cpuUsage) and reads the shares, not the sampled times.
// PROFILE_DUMP=<path prefix> also writes each whole profile to
// <prefix>-<pid>.cpuprofile (for Chrome DevTools or bench/profile-summary.mjs).
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadavg, machineInfo, parseArgs, percentile, rawFileName, writeJsonLines } from './lib/common.mjs'
import { connectAll, cpuMicros, noiseProbe, sleep, startLoadgens, startTarget, stopAll } from './lib/harness.mjs'
import { deliveriesPerPass } from './lib/channel-plan.mjs'
import { renderProfile } from './lib/profile-report.mjs'
import { writeResults } from './lib/results-hook.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const args = parseArgs()
const config = {
  rounds: Number(args.rounds ?? 2),
  targets: String(args.targets ?? 'ws,fastify-websocket,socketio,fastify-realtime').split(','),
  scenarios: String(args.scenarios ?? 'connect,echo,fanout,channels').split(','),
  connectN: Number(args['connect-n'] ?? 2000),
  fanoutN: Number(args['fanout-n'] ?? 5000),
  broadcasts: Number(args.broadcasts ?? 10),
  echo: { connections: 100, outstanding: 32, durationMs: Number(args['echo-ms'] ?? 4000) },
  channelPlan: { channels: 10_000, connections: 2000 },
  channelPasses: 3,
  concurrency: 100,
  payloadBytes: 1024,
  samplingIntervalUs: 100,
  noiseThreshold: 0.2
}

/** Each scenario: what happens before the profile (untimed), the profiled phase, and the unit it is divided by. */
const SCENARIOS = {
  connect: {
    unit: 'connection',
    prepare: async () => {},
    measure: async ({ lgs }) => {
      const c = await connectAll(lgs, config.connectN, { subscribe: false, concurrency: config.concurrency })
      return { units: c.established, losses: c.failed, detail: { handshakeP50Ms: percentile(c.handshakes, 50) } }
    }
  },
  echo: {
    unit: 'round trip',
    prepare: async ({ lgs }) => {
      await connectAll(lgs, config.echo.connections, { subscribe: false, concurrency: config.concurrency })
      await sleep(200)
    },
    measure: async ({ lgs }) => {
      const { durationMs, outstanding, connections } = config.echo
      const rs = await Promise.all(lgs.map((l) => l.request('echo', { durationMs, outstanding }, durationMs + 30_000)))
      const roundTrips = rs.reduce((s, r) => s + r.roundTrips, 0)
      const lost = rs.reduce((s, r) => s + r.lost, 0)
      // the server also answered the pings in flight when the window closed
      return { units: roundTrips + connections * outstanding - lost, losses: lost, detail: { roundTrips } }
    }
  },
  channels: {
    unit: 'publish',
    // bench/channels.mjs's plan: 10,000 channels of 1-3 subscribers over 2,000 connections
    prepare: async ({ lgs }) => {
      await connectAll(lgs, config.channelPlan.connections, { subscribe: config.channelPlan, concurrency: config.concurrency })
      await sleep(300)
    },
    measure: async ({ server, lgs }) => {
      const { channels } = config.channelPlan
      for (let pass = 0; pass < config.channelPasses; pass++) {
        await server.request('publishChannels', { channels, firstSeq: 1 + pass * channels, bytes: 256 }, 120_000)
        await Promise.all(lgs.map((l) => l.request('awaitChannels', { passes: pass + 1, timeoutMs: 30_000 }, 60_000)))
        await sleep(50)
      }
      const delivered = (await Promise.all(lgs.map((l) => l.request('receipts')))).reduce((sum, r) => sum + Object.values(r.receipts).reduce((s, x) => s + x.count, 0), 0)
      return { units: channels * config.channelPasses, losses: deliveriesPerPass(config.channelPlan) * config.channelPasses - delivered, detail: { delivered } }
    }
  },
  fanout: {
    unit: 'delivery',
    prepare: async ({ lgs }) => {
      await connectAll(lgs, config.fanoutN, { subscribe: true, concurrency: config.concurrency })
      await sleep(300)
    },
    measure: async ({ server, lgs }) => {
      let delivered = 0
      const sendCallMs = []
      for (let seq = 1; seq <= config.broadcasts; seq++) {
        const b = await server.request('broadcast', { seq, bytes: config.payloadBytes, event: 'system.notification' }, 60_000)
        sendCallMs.push(b.doneAt - b.sendAt)
        const rs = await Promise.all(lgs.map((l) => l.request('await', { seq, timeoutMs: 20_000 }, 30_000)))
        delivered += rs.reduce((s, r) => s + r.count, 0)
        await sleep(20)
      }
      sendCallMs.sort((a, b) => a - b)
      return { units: delivered, losses: config.fanoutN * config.broadcasts - delivered, detail: { sendCallP50Ms: percentile(sendCallMs, 50) } }
    }
  }
}

/** The process's read and write system calls so far (/proc/<pid>/io; undefined where there is none). */
function syscalls (pid) {
  try {
    const fields = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((line) => line.split(': ')).map(([k, v]) => [k, Number(v)]))
    return { syscr: fields.syscr, syscw: fields.syscw }
  } catch {
    return undefined
  }
}

async function runOne (target, scenario, round) {
  const s = SCENARIOS[scenario]
  const started = Date.now()
  let server
  let lgs = []
  try {
    server = await startTarget(target, { env: { METRICS: '0' } })
    lgs = await startLoadgens(target, server.info.port, { connect: config.connectN, echo: config.echo.connections, fanout: config.fanoutN, channels: config.channelPlan.connections }[scenario], { loadgens: 2 })
    await s.prepare({ server, lgs })
    const probe = noiseProbe([server.pid, process.pid, ...lgs.map((l) => l.pid)], config.noiseThreshold)
    await server.request('profileStart', { intervalUs: config.samplingIntervalUs })
    const cpu0 = await server.request('cpu')
    const io0 = syscalls(server.pid)
    const result = await s.measure({ server, lgs })
    const io1 = syscalls(server.pid)
    const cpu1 = await server.request('cpu')
    const profile = await server.request('profileStop', { top: 40 }, 60_000)
    const noise = probe()
    return {
      kind: 'run', target, scenario, round, ok: true, unit: s.unit, units: result.units, losses: result.losses,
      cpuUs: cpuMicros(cpu0, cpu1), sampledUs: profile.sampledUs,
      // read and write system calls of the server process over the phase (the control channel's few included)
      syscalls: io0 === undefined || io1 === undefined ? undefined : { reads: io1.syscr - io0.syscr, writes: io1.syscw - io0.syscw }, layers: profile.layers, topFunctions: profile.topFunctions,
      detail: result.detail, noise, durationMs: Date.now() - started
    }
  } catch (err) {
    return { kind: 'run', target, scenario, round, ok: false, error: String(err?.stack ?? err), durationMs: Date.now() - started }
  } finally {
    await stopAll(server, lgs)
  }
}

async function main () {
  const machine = machineInfo(join(here, '..'))
  const runs = []
  for (let round = 1; round <= config.rounds; round++) {
    for (const scenario of config.scenarios) {
      // the order rotates every round, so that no target always runs first
      const shift = (round - 1) % config.targets.length
      for (const target of [...config.targets.slice(shift), ...config.targets.slice(0, shift)]) {
        const r = await runOne(target, scenario, round)
        runs.push(r)
        console.log(r.ok
          ? `[round ${round}] ${scenario} ${target}: ${(r.cpuUs / r.units).toFixed(2)} µs/${r.unit}, sampled ${(100 * r.sampledUs / r.cpuUs).toFixed(0)} % of CPU, others ${r.noise.others}`
          : `[round ${round}] ${scenario} ${target}: FAILED ${r.error.split('\n')[0]}`)
      }
    }
  }
  const rawFile = rawFileName('profile', 'quick', machine.date)
  const lines = [{ kind: 'meta', bench: 'profile', config, machine: { ...machine, loadavgAtEnd: loadavg() }, rawFile }, ...runs]
  console.log(renderProfile(lines))
  writeJsonLines(join(here, '..', rawFile), lines)
  console.log(`raw results: ${rawFile}`)
  await writeResults()
  process.exitCode = runs.some((r) => !r.ok) ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
