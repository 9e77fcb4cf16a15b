// Chaos: a TCP proxy between the client and two nodes (Redis adapter) breaks
// every connection every 2 s, a third of the time by half-opening it, while
// the nodes publish 50 messages/s to a channel with history and 50/s to the
// client's inbox. Every message must reach the app exactly once, in order
// per stream. CHAOS_SECONDS sets the length (12 s by default; the bench runs
// 60 s: bench/chaos.mjs); CHAOS_RESULT_FILE, when set, gets the numbers as JSON.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { redisAdapter } from '../../lib/index.js'
import type { RealtimeClient, ServerEnvelope, StreamGap } from '../../lib/client/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.js'
import { startChaosProxy } from '../helpers/chaos-proxy.js'
import { createClient, startRealtime, token, type RealtimeServer } from '../client/support.js'

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 12)
const RATE_PER_STREAM = 50
const CUT_EVERY_MS = 2000
const CHANNEL = 'feed:chaos'
const USER = 'chaos-user'
const STREAMS = ['channel', 'inbox'] as const
type Stream = typeof STREAMS[number]

interface Tick { stream: Stream, seq: number, sentAt: number }

if (!Number.isFinite(SECONDS) || SECONDS <= 0) throw new Error(`CHAOS_SECONDS must be a positive number, got ${process.env.CHAOS_SECONDS}`)

/** Publishes `rate` messages a second to one stream, alternating nodes, each awaited (so seq order is offset order). */
function publisher (stream: Stream, nodes: readonly RealtimeServer[], rate: number): { stop (): Promise<number>, failures: unknown[] } {
  let seq = 0
  let isRunning = true
  const failures: unknown[] = []
  const startedAt = Date.now()
  const loop = (async () => {
    while (isRunning) {
      const node = nodes[seq % nodes.length] as RealtimeServer
      const tick: Tick = { stream, seq: seq + 1, sentAt: Date.now() }
      const message = { type: 'chaos.tick', data: tick }
      try {
        if (stream === 'channel') await node.app.realtime.publish(CHANNEL, message)
        else await node.app.realtime.sendToUser(USER, message)
        seq++
      } catch (err) {
        // a publish that failed reached nobody and took no offset: it is not counted
        failures.push(err)
      }
      // pace to the rate (a slow publish is not made up for by a burst)
      const dueAt = startedAt + (seq * 1000) / rate
      const waitMs = Math.max(0, dueAt - Date.now())
      await new Promise(resolve => setTimeout(resolve, waitMs))
    }
  })()
  return {
    failures,
    async stop () {
      isRunning = false
      await loop
      return seq
    }
  }
}

function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** Resolves true when `check` holds (now or after a message), false after timeoutMs. */
function until (client: RealtimeClient, check: () => boolean, timeoutMs: number): Promise<boolean> {
  if (check()) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => { off(); resolve(false) }, timeoutMs)
    const off = client.on('message', () => {
      if (!check()) return
      clearTimeout(timer)
      off()
      resolve(true)
    })
  })
}

if (requireRedis(t)) {
  t.test(`${SECONDS} s of cuts every ${CUT_EVERY_MS / 1000} s (some half-open): every message exactly once, in order per stream`, { timeout: (SECONDS + 90) * 1000 }, async (t) => {
    const prefix = uniquePrefix(t)
    // history deep enough for the longest outage the run sees; ttl past the run
    const history = { size: 2000, ttlMs: 10 * 60_000 }
    const realtime = {
      adapter: redisAdapter({ url: REDIS_URL, keyPrefix: prefix }),
      channels: { feed: { history } },
      inbox: history,
      maxRecoveredMessages: 2000,
      // a half-open connection lingers on its node until the heartbeat ends it
      maxConnectionsPerUser: 50,
      heartbeatIntervalMs: 1000,
      connectionTimeoutMs: 3000
    }
    const nodes = [
      await startRealtime(t, { realtime }),
      await startRealtime(t, { realtime: { ...realtime, adapter: redisAdapter({ url: REDIS_URL, keyPrefix: prefix }) } })
    ]
    // cuts in a fixed pattern: every third one half-opens
    let cuts = 0
    const proxy = await startChaosProxy({
      targetPorts: nodes.map(node => node.port),
      cutEveryMs: CUT_EVERY_MS,
      halfOpenRatio: 0.5,
      random: () => (cuts++ % 3 === 1 ? 0 : 1)
    })
    t.teardown(() => proxy.close())

    const client = createClient(t, {
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      token: () => token(USER),
      channels: [CHANNEL],
      fetch: false,
      // a half-open link is noticed by a missing pong
      pingIntervalMs: 400,
      pongTimeoutMs: 600,
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
      stableAfterMs: 1000
    })
    const received: Record<Stream, number[]> = { channel: [], inbox: [] }
    const delaysMs: number[] = []
    const gaps: StreamGap[] = []
    let recoveries = 0
    let missedReplayed = 0
    let opens = 0
    client.on('message', (message: ServerEnvelope) => {
      if (message.type !== 'chaos.tick') return
      const tick = message.data as Tick
      received[tick.stream].push(tick.seq)
      delaysMs.push(Date.now() - tick.sentAt)
    })
    client.on('recovered', ({ missed }) => { recoveries++; missedReplayed += missed })
    client.on('gap', (gap) => gaps.push(gap))
    client.on('open', () => { opens++ })
    const confirmed = new Promise<void>(resolve => {
      const off = client.on('subscription.confirmed', (data) => { if (data.channels.includes(CHANNEL)) { off(); resolve() } })
    })
    await client.connect()
    await confirmed

    const publishers = { channel: publisher('channel', nodes, RATE_PER_STREAM), inbox: publisher('inbox', nodes, RATE_PER_STREAM) }
    // the run's length: the chaos goes on meanwhile
    await new Promise(resolve => setTimeout(resolve, SECONDS * 1000))
    const published = { channel: await publishers.channel.stop(), inbox: await publishers.inbox.stop() }
    proxy.calm()
    const allIn = (): boolean => STREAMS.every(stream => received[stream].length >= published[stream])
    // the last outage's replay, at most a few seconds; what never comes is reported below
    t.ok(await until(client, allIn, 15_000), 'everything published arrived')

    for (const stream of STREAMS) {
      const seqs = received[stream]
      const expected = Array.from({ length: published[stream] }, (_, i) => i + 1)
      const duplicates = seqs.length - new Set(seqs).size
      const outOfOrder = seqs.filter((seq, i) => i > 0 && seq <= (seqs[i - 1] as number)).length
      t.equal(duplicates, 0, `${stream}: no duplicate`)
      t.equal(outOfOrder, 0, `${stream}: in order`)
      t.same(seqs, expected, `${stream}: all ${published[stream]} published, exactly once, in order`)
    }
    t.same(gaps, [], 'no stream had a hole it could not fill')
    t.same([...publishers.channel.failures, ...publishers.inbox.failures].map(String), [], 'no publish failed')
    t.ok(proxy.stats.resets > 0 && proxy.stats.halfOpens > 0, 'connections were both reset and half-opened')
    t.ok(recoveries > 0, 'the client recovered')

    const sorted = [...delaysMs].sort((a, b) => a - b)
    const result = {
      seconds: SECONDS,
      ratePerStream: RATE_PER_STREAM,
      cutEveryMs: CUT_EVERY_MS,
      published,
      delivered: { channel: received.channel.length, inbox: received.inbox.length },
      deliveredShare: (received.channel.length + received.inbox.length) / (published.channel + published.inbox),
      duplicates: STREAMS.reduce((n, s) => n + received[s].length - new Set(received[s]).size, 0),
      gaps: gaps.length,
      proxy: { ...proxy.stats },
      opens,
      recoveries,
      missedReplayed,
      delayMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN }
    }
    t.comment(`published ${published.channel} + ${published.inbox}, delivered ${result.delivered.channel} + ${result.delivered.inbox} (${(result.deliveredShare * 100).toFixed(1)} %), ` +
      `${proxy.stats.connections} connections (${proxy.stats.resets} reset, ${proxy.stats.halfOpens} half-open), ${recoveries} recoveries replaying ${missedReplayed} messages; ` +
      `delay publish -> app p50 ${result.delayMs.p50} ms, p99 ${result.delayMs.p99} ms, max ${result.delayMs.max} ms`)
    if (process.env.CHAOS_RESULT_FILE !== undefined) writeFileSync(process.env.CHAOS_RESULT_FILE, JSON.stringify(result, null, 2) + '\n')
  })
}
