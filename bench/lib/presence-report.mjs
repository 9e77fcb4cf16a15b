// The "## Presence" section of bench/RESULTS.md, rendered from the raw lines of
// bench/presence.mjs alone: a `meta` header (machine, options) and one
// `measurement` line per configuration and round.
import { median } from './common.mjs'

export const PRESENCE_HEADING = '## Presence'

export const CONFIGURATIONS = [
  { name: 'one process, presence off', redis: false, presence: false },
  { name: 'one process, presence on', redis: false, presence: true, off: 'one process, presence off' },
  { name: 'two nodes + Redis, presence off', redis: true, presence: false },
  { name: 'two nodes + Redis, presence on', redis: true, presence: true, off: 'two nodes + Redis, presence off' }
]

export function renderPresence (raw) {
  const meta = raw.find((l) => l.kind === 'meta')
  const { machine, config, mode } = meta
  const of = (name) => raw.filter((l) => l.kind === 'measurement' && l.configuration === name)
  // the same ratio within each round (the two runs met about the same machine), then the median over rounds
  const paired = (on, off, key) => median(of(on).map((r) => r[key] / of(off).find((x) => x.round === r.round)?.[key])).toFixed(2)
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  const row = ({ name, off }) => {
    const rate = fmt(median(of(name).map((r) => r.rate)))
    const cpu = fmt(median(of(name).map((r) => r.cpuUsPerCycle)))
    return off === undefined ? `| ${name} | ${rate} | ${cpu} | | |` : `| ${name} | ${rate} | ${cpu} | ×${paired(name, off, 'rate')} | ×${paired(name, off, 'cpuUsPerCycle')} |`
  }
  return [
    PRESENCE_HEADING,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}, at the end ${machine.loadavgAtEnd.join(' ')}; fastify-realtime at commit ${machine.commit}. Redis ${meta.redis} on loopback.`,
    '',
    `\`node bench/presence.mjs${mode === 'full' ? '' : ` --${mode}`}\`: ${config.cycles.toLocaleString('en-US')} connect/disconnect cycles per measurement (open as a distinct user, connection.established, close), ${config.concurrency} in flight, timed until the server forgot every connection and, with presence on (offlineGraceMs 0, no audience hook), until onlineCount() is 0 again. Median of ${config.rounds} interleaved rounds; the clients run in the same process as the servers.`,
    '',
    '| configuration | cycles/s | CPU µs per cycle | rate on / off | CPU on / off |',
    '|---|---:|---:|---:|---:|',
    ...CONFIGURATIONS.filter((c) => of(c.name).length > 0).map(row),
    '',
    'CPU is this process\'s (servers and clients together; the clients do the same work in every configuration), not Redis\'s. The on / off columns are paired: the ratio within each round, then the median. On a machine shared with other work the rates move with it; CPU per cycle moves less (the load average at the start is in the machine line).',
    ''
  ].join('\n')
}
