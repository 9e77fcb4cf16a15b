// The "Cross-node throughput (Redis, batching)" sections of bench/RESULTS.md,
// from the raw lines bench/redis-throughput.mjs writes (pure: lines in,
// markdown out; bench/lib/render-all.mjs calls it).
import { median } from './common.mjs'

export const REDIS_THROUGHPUT_HEADING = '## Cross-node throughput (Redis, batching)'
export const REDIS_THROUGHPUT_ONE_MEMBER_HEADING = '## Cross-node throughput (Redis, batching), 1 member per channel'

/** The raw file's bench name: a run with one member per channel is a bench of its own (its own section). */
export function redisThroughputBench (subscribers) {
  return subscribers === 1 ? 'redis-throughput-1-member' : 'redis-throughput'
}

const LABELS = { local: 'one process (memory adapter)', off: 'two nodes, batching off', autopipeline: 'two nodes, batching off, ioredis auto-pipelining', on: 'two nodes, batching on (default)' }

export function renderRedisThroughput (lines) {
  const meta = lines.find((l) => l.kind === 'meta')
  const all = lines.filter((l) => l.kind === 'run')
  const { config, settings, mode, machine } = meta
  const ok = all.filter((x) => x.ok)
  const of = (setting, key) => median(ok.filter((x) => x.setting === setting).map((x) => x[key]))
  /** Median over rounds of `setting`'s key over `base`'s in the same round. */
  const ratio = (setting, base, key, f = (a, b) => a / b) => median(Array.from({ length: config.rounds }, (_, r) => {
    const a = ok.find((x) => x.setting === setting && x.round === r)
    const b = ok.find((x) => x.setting === base && x.round === r)
    return a === undefined || b === undefined ? NaN : f(a[key], b[key])
  }))
  const n0 = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-'
  const n2 = (n) => Number.isFinite(n) ? n.toFixed(2) : '-'
  const n3 = (n) => Number.isFinite(n) ? n.toFixed(3) : '-'
  const signed = (n) => Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(3)}` : '-'
  const added = (setting, key) => ratio(setting, 'local', key, (a, b) => a - b)
  // raw files from before node B had a process of its own have no receiving-node CPU
  const split = ok.some((x) => x.receivingCpuMicrosPerDelivery !== undefined)
  const nodeB = (s) => {
    const us = s === 'local' ? of(s, 'cpuMicrosPerDelivery') : of(s, 'receivingCpuMicrosPerDelivery')
    return ` ${n2(us)} | ${n0(1e6 / us)} |`
  }
  const rows = settings.map((s) => `| ${LABELS[s] ?? s} | ${n0(of(s, 'deliveriesPerSecond'))} | ${n0(of(s, 'messagesPerSecond'))} | ${s === 'off' ? '1.00' : n2(ratio(s, 'off', 'deliveriesPerSecond'))} | ${n2(of(s, 'cpuMicrosPerDelivery'))} |${split ? nodeB(s) : ''} ${n3(of(s, 'p50Ms'))} | ${n3(of(s, 'p99Ms'))} | ${s === 'local' ? '' : signed(added(s, 'p99Ms'))} | ${ok.filter((x) => x.setting === s).length}/${all.filter((x) => x.setting === s).length} |`)
  const members = config.subscribers === 1 ? ' --members=1' : ''
  return [
    config.subscribers === 1 ? REDIS_THROUGHPUT_ONE_MEMBER_HEADING : REDIS_THROUGHPUT_HEADING,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}; fastify-realtime at commit ${machine.commit}. \`node bench/redis-throughput.mjs${mode === 'full' ? '' : ` --${mode}`}${members}\`: ${config.rounds} round(s), settings interleaved.`,
    '',
    `Node A publishes ${config.messages.toLocaleString('en-US')} messages of ${config.bytes} bytes (${config.window} in flight) to one channel whose ${config.subscribers === 1 ? 'one member is' : `${config.subscribers} members are all`} on node B (its clients in a child process), so every delivery crosses Redis; *deliveries/s* are node B's socket writes per second until every member has every message. ${split ? "Node B runs in a process of its own, node A in the runner's. *CPU*: the runner's process per delivery (node A and the probe client; one process: the node and the probe). *Node B CPU*: the receiving node's process per delivery, what one node spends on a delivery that crossed Redis (one process: the runner's figure); *one core's capacity* is 1 s over it, the deliveries/s one node would sustain with a core to itself. On this 2-core machine node A, node B, the clients and Redis share the cores, so the end-to-end rate is below the capacity." : '*CPU*: this process (both nodes) per delivery.'} Latency: ${config.latencyN} publishes one at a time, from the call to the receipt by a probe member on node B; *added p99* is the setting's p99 minus one process's, in the same round (median over rounds). Every run checked at the probe: each message once, in publish order.`,
    '',
    `| setting | deliveries/s (node B) | messages/s across Redis | × batching off | CPU µs/delivery |${split ? ' node B CPU µs/delivery | one core\'s capacity, deliveries/s |' : ''} p50 ms | p99 ms | added p99 ms | runs ok |`,
    `|---|---:|---:|---:|---:|${split ? '---:|---:|' : ''}---:|---:|---:|---:|`,
    ...rows,
    '',
    `Ratios are within each round, then the median. Options (the bench's own code): JWT, and only the limits the load would hit raised: maxConnections and maxConnectionsPerUser 10,000, rateLimit 1,000,000 a minute, and maxBufferedBytes 64 MiB (a window of 1,000 messages to one socket is queued at once); the slow-consumer bound, the failed-handshake bound and the rate limit stay on. ${meta.note}`,
    ''
  ].join('\n')
}
