// Medians over the undisturbed runs, ratios to raw ws, the plugin's targets
// from issue 5, and the bench/run.mjs section of bench/RESULTS.md, rendered
// from the raw lines alone (bench/render.mjs renders it again from the file).
import { median } from './common.mjs'

export const METRICS = {
  connect: [
    { key: 'connPerSec', label: 'conn/s', digits: 0, ratio: true, higherIsBetter: true },
    { key: 'handshakeP50Ms', label: 'handshake p50 ms', digits: 2 },
    { key: 'handshakeP99Ms', label: 'handshake p99 ms', digits: 2 },
    { key: 'cpuPerConnUs', label: 'server CPU µs/conn', digits: 1, ratio: true }
  ],
  memory: [
    { key: 'heapPerConnKB', label: 'heap KB/conn', digits: 2, ratio: true },
    { key: 'rssPerConnKB', label: 'RSS KB/conn', digits: 2, ratio: true },
    { key: 'baselineHeapMB', label: 'idle heap MB', digits: 1 }
  ],
  fanout: [
    { key: 'lastP50Ms', label: 'last receipt p50 ms', digits: 1, ratio: true },
    { key: 'lastP99Ms', label: 'last receipt p99 ms', digits: 1, ratio: true },
    { key: 'cpuPerDeliveryUs', label: 'server CPU µs/delivery', digits: 2, ratio: true },
    // where a broadcast's time goes: the server's own send loop, then the kernel and the load generators
    { key: 'sendLoopP50Ms', label: 'send loop p50 ms', digits: 1, ratio: true, from: (r) => broadcastP50(r, (b) => b.sendCallMs) },
    { key: 'afterLoopP50Ms', label: 'loop end -> last receipt p50 ms', digits: 1, from: (r) => broadcastP50(r, (b) => b.lastMs - b.sendCallMs) }
  ],
  channels: [
    { key: 'publishesPerSec', label: 'publishes/s', digits: 0, ratio: true, higherIsBetter: true },
    { key: 'latencyP50Ms', label: 'latency p50 ms', digits: 1, ratio: true },
    { key: 'latencyP99Ms', label: 'latency p99 ms', digits: 1, ratio: true },
    { key: 'cpuPerPublishUs', label: 'server CPU µs/publish', digits: 2, ratio: true }
  ],
  echo: [
    { key: 'roundTripsPerSec', label: 'round trips/s', digits: 0, ratio: true, higherIsBetter: true },
    { key: 'rttP50Ms', label: 'RTT p50 ms', digits: 2 },
    { key: 'rttP99Ms', label: 'RTT p99 ms', digits: 2 },
    { key: 'cpuPerRoundTripUs', label: 'server CPU µs/round trip', digits: 2, ratio: true }
  ]
}

/** The p50 over a fan-out run's broadcasts of `of(broadcast)` (NaN for a raw file without them). */
function broadcastP50 (run, of) {
  const values = (run.perBroadcast ?? []).map(of).filter(Number.isFinite).sort((a, b) => a - b)
  return values.length === 0 ? NaN : values[Math.min(values.length - 1, Math.ceil(values.length / 2) - 1)]
}

/** A run's value of a metric: measured (`run.metrics`), or derived from the run's raw data (`from`). */
export function metricOf (run, metric) {
  return metric.from === undefined ? run.metrics[metric.key] : metric.from(run)
}

export const TITLES = {
  connect: 'Connect',
  memory: 'Memory per idle subscribed connection (after forced GC, minus the idle baseline)',
  fanout: 'Fan-out of 1 KiB broadcasts (server send -> last client receipt)',
  echo: 'Echo (ping/pong)',
  channels: 'Targeted delivery to channels'
}

/**
 * One group per scenario and N. A group's medians use only the calm runs
 * when every target has at least one; otherwise every target's medians use
 * all its runs (the group is marked disturbed), so that a ratio never
 * compares a calm run of one target with a disturbed run of another.
 * Paired ratios divide each round's figure by the reference target's figure
 * of the same round (run minutes apart) and take the median over rounds.
 */
export function summarize (runs, targets, { noiseThreshold }) {
  const groups = []
  const keys = [...new Set(runs.map((r) => `${r.scenario}|${r.n}`))]
  for (const key of keys) {
    const [scenario, nStr] = key.split('|')
    const n = Number(nStr)
    const sel = {}
    for (const target of targets) {
      const all = runs.filter((r) => r.scenario === scenario && r.n === n && r.target === target)
      const ok = all.filter((r) => r.ok)
      // memory after forced GC does not depend on how busy the CPUs were
      const calm = scenario === 'memory' ? ok : ok.filter((r) => !r.noise.disturbed)
      sel[target] = { all, ok, calm }
    }
    const present = targets.filter((t) => sel[t].ok.length > 0)
    const isDisturbed = present.some((t) => sel[t].calm.length === 0)
    const rows = {}
    for (const target of targets) {
      const { all, ok, calm } = sel[target]
      const used = isDisturbed ? ok : calm
      const medians = {}
      for (const m of METRICS[scenario]) medians[m.key] = median(used.map((r) => metricOf(r, m)))
      rows[target] = {
        runs: all.length,
        used: used.length,
        failedRuns: all.length - ok.length,
        disturbed: ok.length - calm.length,
        losses: ok.reduce((s, r) => s + r.losses, 0),
        unexpectedCloses: ok.reduce((s, r) => s + (r.unexpectedCloses ?? 0), 0),
        othersMedian: median(ok.map((r) => r.noise.others)),
        medians,
        perRound: perRound(ok)
      }
    }
    const base = rows.ws
    for (const target of targets) {
      const ratios = {}
      for (const m of METRICS[scenario]) {
        if (!m.ratio || base === undefined) continue
        ratios[m.key] = rows[target].medians[m.key] / base.medians[m.key]
      }
      rows[target].ratios = ratios
    }
    groups.push({ scenario, n, rows, isDisturbed })
  }
  return { groups, checks: checks(groups), noiseThreshold }
}

/** round -> the run of that round (the calm attempt if there was one, else the last). */
function perRound (ok) {
  const m = new Map()
  for (const r of ok) {
    const prev = m.get(r.round)
    if (prev === undefined || prev.noise.disturbed) m.set(r.round, r)
  }
  return m
}

/** Median over rounds of num's metric / den's metric in the same round. */
export function pairedRatio (g, num, den, key) {
  const a = g.rows[num]?.perRound
  const b = g.rows[den]?.perRound
  if (a === undefined || b === undefined) return NaN
  const ratios = []
  for (const [round, ra] of a) {
    const rb = b.get(round)
    const metric = METRICS[g.scenario].find((m) => m.key === key)
    if (rb !== undefined) ratios.push(metricOf(ra, metric) / metricOf(rb, metric))
  }
  return median(ratios)
}

function find (groups, scenario, largest = true) {
  const g = groups.filter((x) => x.scenario === scenario).sort((a, b) => a.n - b.n)
  return largest ? g[g.length - 1] : g[0]
}

/** The plugin's targets of issue 5, then those of issue 15, as far as this run measured them. */
function checks (groups) {
  const out = []
  const P = 'fastify-realtime'
  const S = 'socketio'
  // value = num.target's median of num.key / den.target's median of den.key
  const add = (what, g, num, den, key, limit, pass) => {
    if (g === undefined) return
    const a = g.rows[num]
    const b = g.rows[den]
    if (a === undefined || b === undefined) return
    const value = a.medians[key] / b.medians[key]
    if (!Number.isFinite(value)) return
    const paired = pairedRatio(g, num, den, key)
    out.push({ what, n: g.n, value, paired, limit, pass: pass(value), pairedPass: pass(paired), shaky: g.isDisturbed })
  }
  const le = (x) => (v) => v <= x
  const ge = (x) => (v) => v >= x
  const fan = find(groups, 'fanout')
  const mem = find(groups, 'memory')
  const echo = find(groups, 'echo')
  const con = find(groups, 'connect')
  add('fan-out last-receipt p50, plugin / ws', fan, P, 'ws', 'lastP50Ms', '≤ 1.0', le(1.0))
  add('fan-out server CPU per delivery, plugin / ws', fan, P, 'ws', 'cpuPerDeliveryUs', '≤ 1.0', le(1.0))
  add('heap per idle subscribed connection, plugin / ws', mem, P, 'ws', 'heapPerConnKB', '≤ 1.5', le(1.5))
  add('server CPU per echo round trip, plugin / ws', echo, P, 'ws', 'cpuPerRoundTripUs', '≤ 1.2', le(1.2))
  add('connect rate, plugin / @fastify/websocket', con, P, 'fastify-websocket', 'connPerSec', '≥ 0.9', ge(0.9))
  add('ahead of Socket.IO: conn/s, plugin / Socket.IO', con, P, S, 'connPerSec', '≥ 1.5', ge(1.5))
  add('ahead of Socket.IO: CPU per connection, Socket.IO / plugin', con, S, P, 'cpuPerConnUs', '≥ 1.5', ge(1.5))
  add('ahead of Socket.IO: heap per connection, Socket.IO / plugin', mem, S, P, 'heapPerConnKB', '≥ 1.5', ge(1.5))
  add('ahead of Socket.IO: fan-out p50, Socket.IO / plugin', fan, S, P, 'lastP50Ms', '≥ 1.5', ge(1.5))
  add('ahead of Socket.IO: CPU per delivery, Socket.IO / plugin', fan, S, P, 'cpuPerDeliveryUs', '≥ 1.5', ge(1.5))
  add('ahead of Socket.IO: CPU per round trip, Socket.IO / plugin', echo, S, P, 'cpuPerRoundTripUs', '≥ 1.5', ge(1.5))
  // issue 15 (raw ws here sends the seed's full envelope: it is the envelope floor of bench/serializers.mjs)
  add('issue 15: echo server CPU per round trip, plugin / ws (the envelope floor)', echo, P, 'ws', 'cpuPerRoundTripUs', '≤ 0.9', le(0.9))
  add('issue 15: fan-out last-receipt p50, plugin / ws', fan, P, 'ws', 'lastP50Ms', '≤ 0.9', le(0.9))
  add('issue 15: fan-out last-receipt p99, plugin / ws', fan, P, 'ws', 'lastP99Ms', '≤ 1.0', le(1.0))
  for (const g of groups.filter((x) => x.scenario === 'connect').sort((a, b) => a.n - b.n)) {
    add('issue 15: connect rate, plugin / @fastify/websocket', g, P, 'fastify-websocket', 'connPerSec', '≥ 1.0', ge(1.0))
    add('issue 15: connect rate, plugin / Socket.IO', g, P, S, 'connPerSec', '≥ 1.6', ge(1.6))
    add('issue 15: server CPU per connect, plugin / ws', g, P, 'ws', 'cpuPerConnUs', '≤ 1.2', le(1.2))
  }
  return out
}

/** One scenario at one N: a row per target, its medians and their ratios to raw ws. */
export function groupTable (g, targets) {
  const lines = []
  const ms = METRICS[g.scenario]
  if (g.isDisturbed) {
    lines.push('*Disturbed: some target had no calm run here, so every median below is over all runs, calm or not. Read the CPU-per-unit columns (the server\'s own CPU time) before the latency and rate columns.*')
    lines.push('')
  }
  const head = ['target']
  for (const m of ms) {
    head.push(m.label)
    if (m.ratio) head.push('× ws')
  }
  head.push(g.scenario === 'fanout' || g.scenario === 'channels' ? 'losses' : 'failures', 'runs', 'others (median)')
  lines.push(`| ${head.join(' | ')} |`)
  lines.push(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`)
  for (const t of targets) {
    const row = g.rows[t]
    if (row === undefined || row.runs === 0) continue
    const cells = [t === 'ws' ? 'ws (raw)' : t]
    for (const m of ms) {
      cells.push(fmt(row.medians[m.key], m.digits))
      if (m.ratio) cells.push(fmt(row.ratios[m.key], 2))
    }
    cells.push(String(row.losses + (row.unexpectedCloses ? ` (+${row.unexpectedCloses} closes)` : '')))
    cells.push(`${row.used}/${row.runs}${row.failedRuns ? `, ${row.failedRuns} failed` : ''}`)
    cells.push(fmt(row.othersMedian * 100, 0) + ' %')
    lines.push(`| ${cells.join(' | ')} |`)
  }
  lines.push('')
  return lines
}

export function fmt (v, digits) {
  if (!Number.isFinite(v)) return '–'
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/**
 * The raw file's lines (a `meta` header, then one `run` line per run) as the
 * object the renderers read: the header's fields, the runs and their summary.
 */
export function fromLines (lines) {
  const meta = lines.find((l) => l.kind === 'meta')
  if (meta === undefined) throw new Error('raw data without a meta line')
  const runs = lines.filter((l) => l.kind === 'run').map(({ kind, ...r }) => r)
  return { ...meta, runs, summary: summarize(runs, meta.targets, { noiseThreshold: meta.noiseThreshold }) }
}

export const RUN_HEADING = '## ws, @fastify/websocket, Socket.IO and fastify-realtime'

/** The section of bench/run.mjs, from its raw lines alone. */
export function renderRun (lines) {
  const { mode, config, machine, summary, targets, runs } = fromLines(lines)
  const out = []
  out.push(RUN_HEADING)
  out.push('')
  out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}${machine.loadavgAtEnd ? `, at the end ${machine.loadavgAtEnd.join(' ')}` : ''}; fastify-realtime at commit ${machine.commit}.`)
  out.push('')
  out.push(`\`node bench/run.mjs${mode === 'full' ? '' : ` --${mode}`}\`: ${config.rounds} round(s), targets interleaved (${targets.join(', ')}) in every round; each cell is the median over the undisturbed runs of that target; ratios are to raw \`ws\` medians from this same run (lower is better unless the metric is a rate). A run is *disturbed* when the rest of the machine (all CPU busy time from /proc/stat minus the server's, the load generators' and the runner's own) used more than ${Math.round(summary.noiseThreshold * 100)} % of all cores during the measured phase; disturbed runs are left out of the medians (columns "runs" = used/total).`)
  out.push('')
  for (const g of summary.groups) {
    out.push(`### ${TITLES[g.scenario]}, N = ${g.n.toLocaleString('en-US')}`)
    out.push('')
    out.push(...groupTable(g, targets))
  }
  if (summary.checks.length > 0) {
    out.push('### fastify-realtime against the targets of issues 5 and 15')
    out.push('')
    out.push('"ratio of medians" divides the two cells of the tables above; "paired" is the median over rounds of the same ratio within one round, where the two runs were minutes apart and saw about the same machine, the steadier figure on a noisy machine.')
    out.push('')
    out.push('| target | N | ratio of medians | paired | wanted | met (medians / paired) |')
    out.push('|---|---:|---:|---:|---:|:---:|')
    for (const c of summary.checks) {
      const met = `${c.pass ? 'yes' : '**no**'} / ${Number.isFinite(c.paired) ? (c.pairedPass ? 'yes' : '**no**') : '–'}`
      out.push(`| ${c.what} | ${c.n.toLocaleString('en-US')} | ${fmt(c.value, 2)}${c.shaky ? ' (disturbed)' : ''} | ${fmt(c.paired, 2)} | ${c.limit} | ${met} |`)
    }
    out.push('')
  }
  const disturbed = runs.filter((r) => r.ok && r.noise.disturbed && r.scenario !== 'memory')
  const failed = runs.filter((r) => !r.ok)
  out.push('### Notes')
  out.push('')
  out.push(`- ${runs.length} runs, ${disturbed.length} disturbed and left out of the medians${disturbed.length ? ` (${disturbed.map((r) => `${r.scenario} ${r.n} ${r.target} round ${r.round}: others ${Math.round(r.noise.others * 100)} %`).join('; ')})` : ''}, ${failed.length} failed${failed.length ? ` (${failed.map((r) => `${r.scenario} ${r.n} ${r.target} round ${r.round}: ${r.error.split('\n')[0]}`).join('; ')})` : ''}. A table marked *Disturbed* had a target without any calm run; its medians are over all runs. Memory runs are never counted as disturbed: heap and RSS after forced GC do not depend on how busy the CPUs were.`)
  out.push('- Connect: N authenticated connections opened by the load generators with at most 100 handshakes in flight; a handshake ends at the `connection.established` message; conn/s = N over the wall time of the whole phase; server CPU = process.cpuUsage() of the server process over the phase, divided by N.')
  out.push('- Memory: heapUsed and RSS of the server after forced GC (node --expose-gc, 4 × gc()) with N idle, authenticated, subscribed connections, minus the same reading before the first connection, divided by N.')
  out.push(`- Fan-out: ${config.broadcasts} broadcasts of a 1 KiB \`message\` in a \`system.notification\`, one at a time; latency = last client's receipt minus the server's send time, both on \`performance.timeOrigin + performance.now()\`; p50/p99 over the broadcasts of a run, then the median over runs. Server CPU per delivery = server CPU over the broadcast phase / messages received. *Send loop*: the server's broadcast call, from the send time to its return (the loop over every socket's write); *loop end -> last receipt*: the rest of the last receipt's latency, what the kernel and the load generators (on the same cores) take after the server's loop, p50 over the broadcasts. Losses = messages a subscribed client never got (plus failed connections or subscriptions); every client must get every message.`)
  out.push(`- Echo: ${config.echo.connections} connections, each keeping ${config.echo.outstanding} pings in flight for ${config.echo.durationMs / 1000} s. The load generators share the ${machine.cores} cores with the server, so round trips/s is bounded by them; compare server CPU per round trip.`)
  out.push('- Options (bench/targets/fastify-realtime.mjs): the plugin\'s defaults, with a JWT secret (HS256) and only the limits that would refuse the load raised: `maxConnections: 100000` (the default, 1,000, is below the 10,000 connections of a run) and `maxConnectionsPerUser: 100000` (each load-generator client is a user of its own, so the default of 3 is never reached; raised as a margin) and `rateLimit: { max: 1e9, windowMs: 60000 }` (echo\'s 32 pings in flight); one channel namespace, `room`. The security defaults stay on: the failed-handshake bound (`failedHandshakeLimit`), the slow-consumer bound (`maxBufferedBytes`, 4 MiB, `slowConsumer: \'close\'`), the per-user rate limit and flood close, message size limits, heartbeats; `allowedOrigins` keeps its default, `'*'` (token auth). Compression is off (its default). The baselines check the same JWT with fast-jwt.')
  out.push(`- Clients: \`ws\` 8 for the three WebSocket targets, socket.io-client 4 (websocket transport only) for Socket.IO, spread over ${lines[0].loadgens ?? 2} load generator processes and source addresses 127.0.0.2–17.`)
  out.push('')
  return out.join('\n')
}
