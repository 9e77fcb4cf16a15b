// The client's recovery against the real plugin (history in memory): a
// proxy between them plays the network outage (test/helpers/chaos-proxy.ts).
import t from 'tap'
import type { RealtimeClient, ServerEnvelope, StreamGap, StreamRecovered } from '../../lib/client/index.js'
import type { RealtimeOptions } from '../../lib/index.js'
import { startChaosProxy, type ChaosProxy } from '../helpers/chaos-proxy.js'
import { createClient, next, nextState, record, startRealtime, token, type RealtimeServer, type Teardown } from './support.js'

const HISTORY = { size: 100, ttlMs: 60_000 }

const withHistory = (extra: RealtimeOptions = {}): RealtimeOptions => ({
  channels: { review: { history: HISTORY }, lobby: { history: HISTORY } },
  inbox: HISTORY,
  ...extra
})

const note = (text: string) => ({ type: 'system.notification' as const, data: { message: text, level: 'info' as const, timestamp: new Date().toISOString() } })
const tick = (n: number) => ({ type: 'tick', data: { n } })

/** What the app is given, by kind: notifications (inbox), ticks by channel, review changes. */
function delivered (client: RealtimeClient): { notes: string[], ticks: Record<string, number[]>, changes: number[] } {
  const seen = { notes: [] as string[], ticks: {} as Record<string, number[]>, changes: [] as number[] }
  client.on('message', (message: ServerEnvelope) => {
    const data = message.data as { message?: string, n?: number, changes?: { n: number } }
    if (message.type === 'system.notification') seen.notes.push(data.message ?? '')
    if (message.type === 'tick') (seen.ticks[message.channel ?? ''] ??= []).push(data.n ?? -1)
    if (message.type === 'review.updated') seen.changes.push(data.changes?.n ?? -1)
  })
  return seen
}

const arrives = (client: RealtimeClient, match: (message: ServerEnvelope) => boolean) => next(client, 'message', match, 5000)
const noteArrives = (client: RealtimeClient, text: string) =>
  arrives(client, (m) => m.type === 'system.notification' && (m.data as { message: string }).message === text)
const tickArrives = (client: RealtimeClient, channel: string, n: number) =>
  arrives(client, (m) => m.type === 'tick' && m.channel === channel && (m.data as { n: number }).n === n)

/** A proxy in front of the server, breaking connections only when told (outage). */
async function proxied (t: Teardown, server: RealtimeServer): Promise<{ proxy: ChaosProxy, url: string }> {
  const proxy = await startChaosProxy({ targetPorts: [server.port], cutEveryMs: 0 })
  t.teardown(() => proxy.close())
  return { proxy, url: `ws://127.0.0.1:${proxy.port}/ws` }
}

/** Resolves once the restore after a (re)connection confirmed `channel`. */
const confirmedChannel = (client: RealtimeClient, channel: string) =>
  next(client, 'subscription.confirmed', (data) => data.channels.includes(channel), 5000)

t.test('after an outage the inbox and a history channel get what they missed, once and in order, then `recovered` with the counts', async (t) => {
  for (const auth of ['subprotocol', 'path'] as const) {
    const server = await startRealtime(t, { realtime: withHistory() })
    const { proxy, url } = await proxied(t, server)
    const client = createClient(t, { url, token: () => token('alice'), auth, fetch: false, channels: ['lobby:1'] })
    const seen = delivered(client)
    const restored = confirmedChannel(client, 'lobby:1')
    await client.connect()
    await restored
    await server.app.realtime.sendToUser('alice', note('i1'))
    await server.app.realtime.publish('lobby:1', tick(1))
    await tickArrives(client, 'lobby:1', 1)

    proxy.outage(true)
    await nextState(client, 'reconnecting')
    for (const n of [2, 3]) {
      await server.app.realtime.sendToUser('alice', note(`i${n}`))
      await server.app.realtime.publish('lobby:1', tick(n))
    }
    const recovered = record(client, 'recovered')
    proxy.outage(false)
    const results: StreamRecovered[] = [(await recovered.next(5000))[0], (await recovered.next(5000))[0]]
    t.same(results, [{ stream: 'inbox', missed: 2 }, { stream: 'lobby:1', missed: 2 }], `${auth}: the inbox first (in the handshake), then the channel`)

    await server.app.realtime.publish('lobby:1', tick(4))
    await tickArrives(client, 'lobby:1', 4)
    t.same(seen, { notes: ['i1', 'i2', 'i3'], ticks: { 'lobby:1': [1, 2, 3, 4] }, changes: [] }, `${auth}: each message once, in order`)
    t.match(client.positions, { inbox: { offset: 3 }, 'lobby:1': { offset: 4 } })
    client.close()
  }
})

t.test('a targeted review change to a member is in both streams: it comes once, and neither recovery sends it again', async (t) => {
  const server = await startRealtime(t, { realtime: withHistory() })
  const { proxy, url } = await proxied(t, server)
  const client = createClient(t, { url, token: () => token('bob'), fetch: false, channels: ['review:42'] })
  const seen = delivered(client)
  const restored = confirmedChannel(client, 'review:42')
  await client.connect()
  await restored
  const both = arrives(client, (m) => m.type === 'review.updated')
  await server.app.realtime.broadcastReviewUpdated('42', { n: 1 }, ['bob'])
  t.match((await both)[0], { channel: 'review:42', offset: 1, inbox_offset: 1 }, 'one copy, with both offsets')

  proxy.outage(true)
  await nextState(client, 'reconnecting')
  await server.app.realtime.broadcastReviewUpdated('42', { n: 2 }, ['bob'])
  await server.app.realtime.publish('review:42', { type: 'review.updated', data: { review_id: '42', changes: { n: 3 }, timestamp: new Date().toISOString() } })
  await server.app.realtime.sendToUser('bob', note('inbox only'))
  const recovered = record(client, 'recovered')
  proxy.outage(false)
  t.same((await recovered.next(5000))[0], { stream: 'inbox', missed: 2 })
  t.same((await recovered.next(5000))[0], { stream: 'review:42', missed: 2 })
  await server.app.realtime.sendToUser('bob', note('marker'))
  await noteArrives(client, 'marker')
  t.same(seen.changes, [1, 2, 3], 'the change in both streams came once: by the inbox replay, not again by the channel\'s')
  t.same(seen.notes, ['inbox only', 'marker'])
})

t.test('a server restarted empty: both streams are told epoch_changed (a gap event each) and go on in the new epoch', async (t) => {
  const first = await startRealtime(t, { realtime: withHistory() })
  const client = createClient(t, { url: first.url, token: () => token('carol'), fetch: false, channels: ['lobby:1'] })
  const seen = delivered(client)
  const restored = confirmedChannel(client, 'lobby:1')
  await client.connect()
  await restored
  await first.app.realtime.sendToUser('carol', note('before'))
  await first.app.realtime.publish('lobby:1', tick(1))
  await tickArrives(client, 'lobby:1', 1)
  const before = client.positions

  await first.close()
  await nextState(client, 'reconnecting')
  const gaps = record(client, 'gap')
  const second = await startRealtime(t, { port: first.port, realtime: withHistory() })
  const results: StreamGap[] = [(await gaps.next(5000))[0], (await gaps.next(5000))[0]]
  t.same(results, [{ stream: 'inbox', reason: 'epoch_changed' }, { stream: 'lobby:1', reason: 'epoch_changed' }])
  t.not(client.positions.inbox?.epoch, before.inbox?.epoch, 'the inbox is in the new epoch')
  t.not(client.positions['lobby:1']?.epoch, before['lobby:1']?.epoch)

  await second.app.realtime.publish('lobby:1', tick(2))
  await second.app.realtime.sendToUser('carol', note('after'))
  await noteArrives(client, 'after')
  t.same(seen, { notes: ['before', 'after'], ticks: { 'lobby:1': [1, 2] }, changes: [] }, 'the new epoch\'s offset 1 is not taken for a duplicate')
})

t.test('a member removed while away: the restore is refused, the channel gets a `forbidden` gap and no history', async (t) => {
  const members = new Set(['dave'])
  const server = await startRealtime(t, {
    realtime: withHistory({
      channels: { review: { history: HISTORY, authorize: (connection) => members.has(connection.userId) || { reason: 'not a member' } } }
    })
  })
  const { proxy, url } = await proxied(t, server)
  const client = createClient(t, { url, token: () => token('dave'), fetch: false, channels: ['review:7'] })
  const seen = delivered(client)
  const restored = confirmedChannel(client, 'review:7')
  await client.connect()
  await restored

  proxy.outage(true)
  await nextState(client, 'reconnecting')
  members.delete('dave')
  await server.app.realtime.publish('review:7', tick(1))
  const refused = next(client, 'error', (error) => error.code === 'CHANNEL_FORBIDDEN', 5000)
  const gap = next(client, 'gap', () => true, 5000)
  proxy.outage(false)
  t.match((await refused)[0], { details: ['review:7'], reasons: ['not a member'] })
  t.same((await gap)[0], { stream: 'review:7', reason: 'forbidden' })
  t.same(client.channels, [])
  t.equal(client.positions['review:7'], undefined, 'nothing left to recover from')
  await server.app.realtime.sendToUser('dave', note('marker'))
  await noteArrives(client, 'marker')
  t.same(seen.ticks, {}, 'nothing of the channel reached the app')
})

t.test('more missed than maxRecoveredMessages: a too_many gap, nothing replayed, and live messages go on from the top', async (t) => {
  const server = await startRealtime(t, { realtime: withHistory({ maxRecoveredMessages: 3 }) })
  const { proxy, url } = await proxied(t, server)
  const client = createClient(t, { url, token: () => token('erin'), fetch: false, channels: ['lobby:9'] })
  const seen = delivered(client)
  const restored = confirmedChannel(client, 'lobby:9')
  await client.connect()
  await restored

  proxy.outage(true)
  await nextState(client, 'reconnecting')
  for (let n = 1; n <= 4; n++) await server.app.realtime.publish('lobby:9', tick(n))
  await server.app.realtime.sendToUser('erin', note('one missed'))
  const recovered = record(client, 'recovered')
  const gap = next(client, 'gap', () => true, 5000)
  proxy.outage(false)
  t.same((await recovered.next(5000))[0], { stream: 'inbox', missed: 1 })
  t.same((await gap)[0], { stream: 'lobby:9', reason: 'too_many' })
  await server.app.realtime.publish('lobby:9', tick(5))
  await tickArrives(client, 'lobby:9', 5)
  t.same(seen.ticks, { 'lobby:9': [5] }, 'the app refetches what 1 to 4 carried; 5 is the next')
  t.match(client.positions, { 'lobby:9': { offset: 5 } })
})
