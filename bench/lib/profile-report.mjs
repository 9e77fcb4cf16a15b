// The "Where the server's CPU goes" section of bench/RESULTS.md, rendered
// from bench/profile.mjs's raw lines alone.
import { median } from './common.mjs'
import { LAYERS } from './profiler.mjs'

export const PROFILE_HEADING = "## Where the server's CPU goes (CPU profiles)"

const UNITS = { connect: 'connection', echo: 'round trip', fanout: 'delivery', channels: 'publish' }
const TITLES = {
  connect: 'Connect: server CPU µs per connection, by layer',
  echo: 'Echo: server CPU µs per round trip, by layer',
  fanout: 'Fan-out of 1 KiB: server CPU µs per delivery, by layer',
  channels: 'Publishes to 10,000 channels of 1-3 subscribers: server CPU µs per publish, by layer'
}
const LAYER_NOTES = {
  'fastify-realtime': "the plugin's own code (dist/)",
  fastify: 'Fastify, its router and hooks, @fastify/* (@fastify/websocket, @fastify/jwt)',
  'socket.io': 'socket.io and engine.io',
  ws: 'ws: framing, parsing, the upgrade',
  jwt: "fast-jwt's JavaScript (the HMAC itself is native)",
  node: "Node's own JavaScript: http, net, streams, events",
  native: 'native code: system calls (read, writev, accept), the HTTP parser, crypto, V8 builtins',
  gc: 'garbage collection',
  'other packages': 'other packages',
  'bench harness': "the bench target's own code (its hub, the control channel)"
}

function fmt (v, digits = 2) {
  return Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–'
}

/** A run's CPU per unit split by layer: each layer's share of the sampled time times the CPU the server used. */
export function perUnitByLayer (run) {
  const perUnit = run.cpuUs / Math.max(1, run.units)
  const out = { total: perUnit }
  for (const layer of LAYERS) out[layer] = perUnit * (run.layers[layer] ?? 0) / Math.max(1, run.sampledUs)
  return out
}

/** Median over a target's runs of each layer's CPU per unit. */
function medians (runs) {
  const split = runs.map(perUnitByLayer)
  const out = {}
  for (const key of ['total', ...LAYERS]) out[key] = median(split.map((s) => s[key]))
  return out
}

/** The run whose CPU per unit is the median (the lower of the middle two): its functions are listed. */
function medianRun (runs) {
  const sorted = [...runs].sort((a, b) => a.cpuUs / a.units - b.cpuUs / b.units)
  return sorted[(sorted.length - 1) >> 1]
}

/**
 * For the goals of issue 15 that a profile bounds: what the other targets
 * already spend on the same work, in the figures of this table.
 */
function whyNotLower (scenario, rows, syscallsPer) {
  const ws = rows.ws
  const hand = rows['fastify-websocket']
  const sio = rows.socketio
  const plugin = rows['fastify-realtime']
  if (ws === undefined || plugin === undefined) return undefined
  const calls = (t) => `${fmt(syscallsPer(t, 'writes'))} write and ${fmt(syscallsPer(t, 'reads'))} read`
  if (scenario === 'connect' && hand !== undefined) {
    return `*The connect goals of issue 15 (server CPU per connect at most 1.2× raw ws, a connect rate at least the hand-rolled route's)*: raw ws makes ${calls('ws')} system calls per connection, the hand-rolled route ${calls('fastify-websocket')}, fastify-realtime ${calls(P)}: no target does less I/O. The hand-rolled route, which does nothing but check the token and send the welcome, already costs ${fmt(hand.total / ws.total)}× raw ws (Fastify's request lifecycle and @fastify/websocket's upgrade: its *fastify* and *node* columns). ${1.2 * ws.total > hand.total ? `1.2× raw ws would leave fastify-realtime ${fmt(1.2 * ws.total - hand.total)} µs per connection above that route for everything it does on top (limits, the registry, the rate limiter's state, the welcome, the listeners); its own code takes ${fmt(plugin[P])} µs.` : `1.2× raw ws is less than that route itself costs, before anything fastify-realtime does on top (limits, the registry, the rate limiter's state, the welcome, the listeners: its own code, ${fmt(plugin[P])} µs).`} A rate above the hand-rolled route's would need fastify-realtime to do less per connection than a route that does a subset of its work.`
  }
  if (scenario === 'channels' && sio !== undefined) {
    return `*The channels goal of issue 15 (a publish rate twice Socket.IO rooms')*: every target makes ${fmt(syscallsPer('ws', 'writes'))} write system calls per publish (raw ws) / ${fmt(syscallsPer(P, 'writes'))} (fastify-realtime) / ${fmt(syscallsPer('socketio', 'writes'))} (Socket.IO), one per subscriber reached. Socket.IO spends ${fmt(sio.total)} µs per publish; twice its rate on the same cores needs at most ${fmt(sio.total / 2)} µs, while raw ws's native code (the writes, mostly) alone is ${fmt(ws.native)} µs of its ${fmt(ws.total)}: a hub that sends what the others send, one write per recipient, cannot get there on this machine.`
  }
  if (scenario === 'fanout') {
    return `*Fan-out latency*: every target makes ${fmt(syscallsPer('ws', 'writes'))} (raw ws) / ${fmt(syscallsPer(P, 'writes'))} (fastify-realtime) write system calls per delivery; native code is ${fmt(100 * ws.native / ws.total, 0)} % of raw ws's CPU per delivery and ${fmt(100 * plugin.native / plugin.total, 0)} % of fastify-realtime's, whose own code is ${fmt(plugin[P])} µs. The broadcast's latency is the server's send loop (run.mjs's fan-out tables: the last client receives it as the loop ends), so what is left is one write per socket.`
  }
  return undefined
}

const P = 'fastify-realtime'

export function renderProfile (lines) {
  const meta = lines.find((l) => l.kind === 'meta')
  const runs = lines.filter((l) => l.kind === 'run' && l.ok)
  const failed = lines.filter((l) => l.kind === 'run' && !l.ok)
  const { config, machine } = meta
  const out = [PROFILE_HEADING, '']
  out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}, at the end ${machine.loadavgAtEnd.join(' ')}; fastify-realtime at commit ${machine.commit}.`)
  out.push('')
  out.push(`\`node bench/profile.mjs\`: ${config.rounds} round(s), targets interleaved (the order rotated every round); in each run V8's sampling profiler (every ${config.samplingIntervalUs} µs, started inside the server process) covers the measured phase alone: ${config.connectN.toLocaleString('en-US')} connects (${config.concurrency} in flight), ${config.echo.durationMs / 1000} s of echo on ${config.echo.connections} connections (${config.echo.outstanding} pings in flight each), ${config.broadcasts} broadcasts of ${config.payloadBytes} bytes to ${config.fanoutN.toLocaleString('en-US')} subscribed connections${config.channelPlan === undefined ? '' : `, ${config.channelPasses} passes of one 256-byte publish to each of ${config.channelPlan.channels.toLocaleString('en-US')} channels of 1-3 subscribers (${config.channelPlan.connections.toLocaleString('en-US')} connections, bench/channels.mjs's plan)`}. Each layer's share of the sampled self time is scaled to the CPU the server used over the phase (\`process.cpuUsage()\`), so a row adds up to the server's CPU per unit; cells are medians over the rounds. *write syscalls* and *read syscalls*: the server process's \`syscw\` and \`syscr\` (/proc/<pid>/io) over the phase, per unit (a writev counts once, however many frames it carries). The profiler slows what it samples, so compare the rows of one table with each other, not with the other sections.`)
  out.push('')
  const legend = LAYERS.filter((l) => runs.some((r) => (r.layers[l] ?? 0) > 0)).map((l) => `*${l}*: ${LAYER_NOTES[l]}`)
  out.push(`Layers: ${legend.join('; ')}.`)
  for (const scenario of config.scenarios) {
    const sel = runs.filter((r) => r.scenario === scenario)
    if (sel.length === 0) continue
    const targets = config.targets.filter((t) => sel.some((r) => r.target === t))
    const layers = LAYERS.filter((l) => sel.some((r) => (r.layers[l] ?? 0) / r.sampledUs >= 0.005))
    const rows = Object.fromEntries(targets.map((t) => [t, medians(sel.filter((r) => r.target === t))]))
    out.push('')
    out.push(`### ${TITLES[scenario]}`)
    out.push('')
    const hasSyscalls = sel.some((r) => r.syscalls !== undefined)
    const perUnit = (t, key) => median(sel.filter((r) => r.target === t && r.syscalls !== undefined).map((r) => r.syscalls[key] / Math.max(1, r.units)))
    out.push(`| target | total | × ws | ${layers.join(' | ')} |${hasSyscalls ? ' write syscalls | read syscalls |' : ''} runs |`)
    out.push(`|---|---:|---:|${layers.map(() => '---:').join('|')}|${hasSyscalls ? '---:|---:|' : ''}---:|`)
    for (const t of targets) {
      const row = rows[t]
      const ratio = rows.ws === undefined ? NaN : row.total / rows.ws.total
      out.push(`| ${t} | ${fmt(row.total)} | ${fmt(ratio)} | ${layers.map((l) => fmt(row[l])).join(' | ')} |${hasSyscalls ? ` ${fmt(perUnit(t, 'writes'))} | ${fmt(perUnit(t, 'reads'))} |` : ''} ${sel.filter((r) => r.target === t).length} |`)
    }
    const plugin = rows['fastify-realtime']
    const hand = rows['fastify-websocket']
    if (plugin !== undefined && hand !== undefined && rows.ws !== undefined) {
      const extra = layers.map((l) => ({ l, d: plugin[l] - hand[l] })).filter((x) => Math.abs(x.d) >= 0.05 * Math.abs(plugin.total - hand.total) && Math.abs(x.d) >= 0.01)
      out.push('')
      out.push(`fastify-realtime against the hand-rolled @fastify/websocket route: ${fmt(plugin.total - hand.total)} µs per ${UNITS[scenario]} (${fmt(plugin.total / hand.total)}×), by layer ${extra.map((x) => `${x.l} ${x.d >= 0 ? '+' : ''}${fmt(x.d)}`).join(', ')}. Both against raw ws: the hand-rolled route ${fmt(hand.total / rows.ws.total)}×, fastify-realtime ${fmt(plugin.total / rows.ws.total)}×; of fastify-realtime's ${fmt(plugin.total)} µs, its own code is ${fmt(plugin['fastify-realtime'])} µs (${fmt(100 * plugin['fastify-realtime'] / plugin.total, 0)} %).`)
    }
    const why = whyNotLower(scenario, rows, (t, key) => hasSyscalls ? perUnit(t, key) : NaN)
    if (why !== undefined) out.push('', why)
    const top = medianRun(sel.filter((r) => r.target === 'fastify-realtime'))
    if (top !== undefined) {
      const perUnit = top.cpuUs / Math.max(1, top.units)
      out.push('')
      out.push(`<details><summary>fastify-realtime, ${scenario}: the 15 functions with the most self time (round ${top.round})</summary>`)
      out.push('')
      out.push(`| function | layer | share of sampled | µs per ${UNITS[scenario]} |`)
      out.push('|---|---|---:|---:|')
      for (const f of top.topFunctions.slice(0, 15)) out.push(`| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.layer} | ${fmt(100 * f.us / top.sampledUs, 1)} % | ${fmt(perUnit * f.us / top.sampledUs)} |`)
      out.push('')
      out.push('</details>')
    }
  }
  if (failed.length > 0) {
    out.push('')
    out.push(`${failed.length} run(s) failed: ${failed.map((r) => `${r.scenario} ${r.target} round ${r.round}`).join(', ')}.`)
  }
  return out.join('\n')
}
