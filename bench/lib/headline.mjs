// README's "Benchmarks" table: the headline ratios, rendered by
// bench/render.mjs from the same newest raw files as bench/RESULTS.md (so a
// figure in README is never typed by hand), between two markers in README.md.
import { median } from './common.mjs'
import { fromLines, fmt, summarize } from './report.mjs'

export const README_START = '<!-- benchmarks:start: rendered by `node bench/render.mjs` from bench/results/ (do not edit by hand) -->'
export const README_END = '<!-- benchmarks:end -->'

const P = 'fastify-realtime'

/** A group's medians: plugin / other for `key`, or NaN when either is missing. */
function ratio (group, key, other) {
  const a = group?.rows[P]?.medians[key]
  const b = group?.rows[other]?.medians[key]
  return a === undefined || b === undefined ? NaN : a / b
}

function largest (groups, scenario) {
  return groups.filter((g) => g.scenario === scenario).sort((a, b) => b.n - a.n)[0]
}

/**
 * `raw`: bench name -> { file, lines } of its newest raw file. Rows only for
 * the benches that have one; each names its file.
 */
export function renderHeadline (raw) {
  const rows = []
  const x = (v) => Number.isFinite(v) ? `${fmt(v, 2)}×` : '–'
  const run = raw.get('run')
  if (run !== undefined) {
    const { summary } = fromLines(run.lines)
    const echo = largest(summary.groups, 'echo')
    const fan = largest(summary.groups, 'fanout')
    const mem = largest(summary.groups, 'memory')
    const con = largest(summary.groups, 'connect')
    const at = (g) => g === undefined ? '' : ` (N = ${g.n.toLocaleString('en-US')})`
    rows.push(['server CPU per echo round trip' + at(echo), x(ratio(echo, 'cpuPerRoundTripUs', 'ws')), x(ratio(echo, 'cpuPerRoundTripUs', 'fastify-websocket')), x(ratio(echo, 'cpuPerRoundTripUs', 'socketio')), run.file])
    rows.push(['fan-out of 1 KiB, last receipt p50' + at(fan), x(ratio(fan, 'lastP50Ms', 'ws')), x(ratio(fan, 'lastP50Ms', 'fastify-websocket')), x(ratio(fan, 'lastP50Ms', 'socketio')), run.file])
    rows.push(['fan-out, server CPU per delivery' + at(fan), x(ratio(fan, 'cpuPerDeliveryUs', 'ws')), x(ratio(fan, 'cpuPerDeliveryUs', 'fastify-websocket')), x(ratio(fan, 'cpuPerDeliveryUs', 'socketio')), run.file])
    rows.push(['heap per idle subscribed connection' + at(mem), x(ratio(mem, 'heapPerConnKB', 'ws')), x(ratio(mem, 'heapPerConnKB', 'fastify-websocket')), x(ratio(mem, 'heapPerConnKB', 'socketio')), run.file])
    rows.push(['server CPU per connect' + at(con), x(ratio(con, 'cpuPerConnUs', 'ws')), x(ratio(con, 'cpuPerConnUs', 'fastify-websocket')), x(ratio(con, 'cpuPerConnUs', 'socketio')), run.file])
    rows.push(['connects per second' + at(con), x(ratio(con, 'connPerSec', 'ws')), x(ratio(con, 'connPerSec', 'fastify-websocket')), x(ratio(con, 'connPerSec', 'socketio')), run.file])
  }
  const channels = raw.get('channels')
  if (channels !== undefined) {
    const meta = channels.lines.find((l) => l.kind === 'meta')
    const runs = channels.lines.filter((l) => l.kind === 'run').map(({ kind, ...r }) => r)
    const group = summarize(runs, [...new Set(runs.map((r) => r.target))], { noiseThreshold: meta.noiseThreshold }).groups.find((g) => g.scenario === 'channels')
    rows.push(['publishes per second to 10,000 channels of 1-3 subscribers', x(ratio(group, 'publishesPerSec', 'ws')), '–', x(ratio(group, 'publishesPerSec', 'socketio')), channels.file])
  }
  const lines = [README_START, '']
  if (rows.length > 0) {
    lines.push('| fastify-realtime against | raw ws | @fastify/websocket route | Socket.IO 4 | raw data |')
    lines.push('|---|---:|---:|---:|---|')
    for (const [what, ws, route, sio, file] of rows) lines.push(`| ${what} | ${ws} | ${route} | ${sio} | \`${file}\` |`)
    lines.push('')
    lines.push('Ratios of medians from one run in which the targets were interleaved; below 1 is less (CPU, memory, latency), above 1 is more (rates). Raw `ws` sends the seed\'s full envelope, as the plugin does.')
  }
  const redis = raw.get('redis-throughput-1-member')
  if (redis !== undefined) {
    const on = redis.lines.filter((l) => l.kind === 'run' && l.ok && l.setting === 'on')
    const us = median(on.map((r) => r.receivingCpuMicrosPerDelivery))
    const rate = median(on.map((r) => r.deliveriesPerSecond))
    if (Number.isFinite(us)) {
      lines.push('')
      lines.push(`Across Redis, one member per channel: the receiving node spends ${fmt(us, 2)} µs of CPU per delivery, ${fmt(1e6 / us, 0)} deliveries/s on one core of its own; end to end ${fmt(rate, 0)} deliveries/s on this 2-core machine, where both nodes, the clients and Redis share the cores (\`${redis.file}\`).`)
    }
  }
  lines.push('')
  lines.push('Every table, the machine, the options each target runs with and the profiles that show where the time goes: [bench/RESULTS.md](bench/RESULTS.md); how to run them: [bench/README.md](bench/README.md).')
  lines.push('', README_END)
  return lines.join('\n')
}

/** README.md with its benchmarks block replaced by `block` (the markers must be there). */
export function withHeadline (readme, block) {
  const start = readme.indexOf(README_START)
  const end = readme.indexOf(README_END)
  if (start === -1 || end === -1 || end < start) throw new Error('README.md has no benchmarks markers')
  return readme.slice(0, start) + block + readme.slice(end + README_END.length)
}
