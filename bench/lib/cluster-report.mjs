// The "## Cross-node delivery (Redis)" section of bench/RESULTS.md, rendered
// from the raw lines of bench/cluster.mjs alone: a `meta` header (machine,
// options), a `ping` line (Redis PING p50) and one `path` line per path
// (latency p50/p99 and throughput).
import { join } from 'node:path'
import { machineInfo, rawFileName, writeJsonLines } from './common.mjs'
import { writeResults } from './results-hook.mjs'

export const CLUSTER_HEADING = '## Cross-node delivery (Redis)'

/** Called at the end of bench/cluster.mjs --write with what it measured. */
export async function writeClusterRaw ({ root, redisUrl, config, ping, local, remote }) {
  const machine = machineInfo(root)
  const rawFile = rawFileName('cluster', 'full', machine.date)
  writeJsonLines(join(root, rawFile), [
    { kind: 'meta', bench: 'cluster', mode: 'full', config, redis: redisUrl.replace(/\/\/[^@]*@/, '//'), machine, rawFile },
    { kind: 'ping', p50Ms: ping },
    { kind: 'path', path: 'local', ...local },
    { kind: 'path', path: 'redis', ...remote }
  ])
  console.log(`raw: ${rawFile}`)
  await writeResults()
}

export function renderCluster (raw) {
  const meta = raw.find((l) => l.kind === 'meta')
  const { machine, config } = meta
  const ping = raw.find((l) => l.kind === 'ping')
  const local = raw.find((l) => l.kind === 'path' && l.path === 'local')
  const remote = raw.find((l) => l.kind === 'path' && l.path === 'redis')
  const ms = (n) => n.toFixed(3)
  const rate = (n) => Math.round(n).toLocaleString('en-US')
  const lines = [
    CLUSTER_HEADING,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.platform}; ${machine.date}; loadavg at start ${machine.loadavgAtStart.join(' ')}; fastify-realtime at commit ${machine.commit}. Redis ${meta.redis} on loopback, PING p50 ${ms(ping.p50Ms)} ms.`,
    '',
    `\`node bench/cluster.mjs --write\`: one ${config.payloadBytes}-byte-filler system.notification per sendToUser() to one user with one socket; sender, nodes and client in one process. Latency: ${config.latencyN.toLocaleString('en-US')} messages one at a time (after ${config.warmup} warm-up), from the call to the client's receipt. Throughput: ${config.throughputN.toLocaleString('en-US')} messages with ${config.window} in flight, counted at the client.`,
    '',
    '| path | latency p50 ms | latency p99 ms | messages/s |',
    '|---|---:|---:|---:|',
    `| one process (memory adapter) | ${ms(local.p50)} | ${ms(local.p99)} | ${rate(local.rate)} |`,
    `| node A -> Redis -> node B | ${ms(remote.p50)} | ${ms(remote.p99)} | ${rate(remote.rate)} |`,
    `| added by the Redis hop | ${remote.p50 >= local.p50 ? '+' : ''}${ms(remote.p50 - local.p50)} | ${remote.p99 >= local.p99 ? '+' : ''}${ms(remote.p99 - local.p99)} | ×${(remote.rate / local.rate).toFixed(2)} |`,
    '',
    "Options (the bench's own code): JWT, and only the limits the load would hit raised: rateLimit 1,000,000 a minute and maxBufferedBytes 64 MiB (500 messages in flight to one socket); the slow-consumer bound, the failed-handshake bound and the rate limit stay on.",
    ''
  ]
  return lines.join('\n')
}
