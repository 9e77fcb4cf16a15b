// The "## History and recovery" section of bench/RESULTS.md, rendered from the
// raw lines of bench/history.mjs alone: a `meta` header, one `publish` line per
// engine, setting and round, one `recovery` line per engine and round, an `end` line.
import { median } from './common.mjs'

export const HISTORY_HEADING = '## History and recovery'

const fixed = (n, digits = 0) => Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–'

export function renderHistory (raw) {
  const meta = raw.find((l) => l.kind === 'meta')
  const end = raw.find((l) => l.kind === 'end')
  const { config, machine, mode } = meta
  const publishes = raw.filter((l) => l.kind === 'publish')
  const recoveries = raw.filter((l) => l.kind === 'recovery')
  const engines = [...new Set(publishes.map((l) => l.engine))]
  const rounds = [...new Set(publishes.map((l) => l.round))]
  const loads = raw.map((l) => l.loadavg).filter(Number.isFinite)
  const size = config.history?.size ?? Math.max(100, config.missed)
  const ttlMs = config.history?.ttlMs ?? 300_000
  const lines = [HISTORY_HEADING, '']
  lines.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}` +
    `${loads.length > 0 ? `, 1-minute loadavg ${fixed(Math.min(...loads), 1)}-${fixed(Math.max(...loads), 1)} during the run` : ''}` +
    `${end?.loadavgAtEnd ? `, ${end.loadavgAtEnd.join(' ')} at the end` : ''}; fastify-realtime at commit ${machine.commit}. ` +
    `\`node bench/history.mjs${mode === 'full' ? '' : ` --${mode}`}\`: ${rounds.length} rounds, settings interleaved.${meta.note ? ` ${meta.note}` : ''}`)
  lines.push('')
  lines.push(`${config.subscribers} subscribers of one channel (in another process), ${fixed(config.messages)} publishes of ${config.bytes} bytes with ${config.window} in flight, and ${config.latencyN} one at a time; \`off\` is a namespace without history, \`on\` one with \`history: { size: ${size}, ttlMs: ${ttlMs} }\`. Medians over the ${rounds.length} rounds; "cost" is the time per publish, on / off within each round, then the median.`)
  lines.push('')
  lines.push(`| engine | publishes/s off -> on | cost on/off (median of per-round ratios) | server CPU µs/publish off -> on | CPU on/off (median of per-round ratios; ratio of medians) | p50 ms off -> on | p99 ms off -> on | recover ${config.missed} missed: subscribe -> recovery.result, p50 |`)
  lines.push('|---|---|---|---|---|---|---|---|')
  for (const engine of engines) {
    const of = (setting, key) => median(publishes.filter((x) => x.engine === engine && x.setting === setting).map((x) => x[key]))
    const ratio = (key) => median(rounds.map((r) => {
      const off = publishes.find((x) => x.engine === engine && x.setting === 'off' && x.round === r)
      const on = publishes.find((x) => x.engine === engine && x.setting === 'on' && x.round === r)
      return off && on ? on[key] / off[key] : NaN
    }))
    const recovery = median(recoveries.filter((x) => x.engine === engine).map((x) => x.p50Ms))
    lines.push(`| ${engine === 'redis' ? 'redis (2 nodes)' : engine} | ${fixed(of('off', 'publishesPerSecond'))} -> ${fixed(of('on', 'publishesPerSecond'))} | ${fixed(ratio('throughputCost'), 2)}x | ` +
      `${fixed(of('off', 'cpuMicrosPerPublish'))} -> ${fixed(of('on', 'cpuMicrosPerPublish'))} | ${fixed(ratio('cpuMicrosPerPublish'), 2)}x; ${fixed(of('on', 'cpuMicrosPerPublish') / of('off', 'cpuMicrosPerPublish'), 2)}x | ` +
      `${fixed(of('off', 'p50Ms'), 2)} -> ${fixed(of('on', 'p50Ms'), 2)} | ${fixed(of('off', 'p99Ms'), 2)} -> ${fixed(of('on', 'p99Ms'), 2)} | ${fixed(recovery, 1)} ms${engine === 'redis' ? ' (on the other node)' : ''} |`)
  }
  lines.push('')
  lines.push("Options (the bench's own code): JWT, and only the limits the load would hit raised: maxConnections and maxConnectionsPerUser 10,000, rateLimit 1,000,000 a minute, and maxBufferedBytes 64 MiB (the publishes in flight reach each socket at once); the slow-consumer bound, the failed-handshake bound and the rate limit stay on.")
  lines.push('')
  lines.push('The goal in memory: numbering and keeping the messages costs at most 1.2x. On Redis a stream message goes through one Lua script (XADD, PEXPIRE, PUBLISH) instead of a PUBLISH, and the publishing node delivers it only when it comes back from Redis (so that every node delivers a stream in one order), which is what the Redis row\'s latency and cost add. The server CPU is this process\'s (the nodes; the subscribers run in a child process). The heap the memory engine holds per stored message is measured by `test/history/memory.test.ts`.')
  lines.push('')
  return lines.join('\n')
}
