import t from 'tap'
import { startServer } from '../helpers/server.js'
import { change, connect, isNote, isType, note, offsets, receiveUntil, subscribe, withHistory } from './support.js'

t.test('a client back after a drop gets every missed channel message in order, then recovery.result, then live ones', async (t) => {
  const server = await startServer(t, { realtime: withHistory() })
  const first = await connect(t, server, 'alice')
  const confirmed = await subscribe(first.client, { channels: ['review:42'] })
  const start = confirmed.data.positions?.['review:42']
  t.match(start, { epoch: String, offset: 0 }, 'subscription.confirmed carries the channel\'s position')
  await server.app.realtime.publish('review:42', change(1))
  await server.app.realtime.publish('review:42', change(2))
  const live = [await first.client.next('review.updated'), await first.client.next('review.updated')]
  t.same(offsets(live), [1, 2], 'each channel message carries its offset')
  t.equal(live[0]?.channel, 'review:42')
  await first.client.close()

  for (let n = 3; n <= 5; n++) await server.app.realtime.publish('review:42', change(n))
  const back = await connect(t, server, 'alice')
  const again = await subscribe(back.client, { channels: ['review:42'], recover: { 'review:42': { epoch: start?.epoch, offset: 2 } } })
  t.same(again.data.positions?.['review:42'], { epoch: start?.epoch, offset: 5 }, 'the position is the top at subscribe time')
  const replay = await receiveUntil(back.client, isType('recovery.result'))
  t.same(offsets(replay.slice(0, -1)), [3, 4, 5], 'the missed messages, in order')
  t.same(replay.slice(0, -1).map(m => (m.data as { changes: { n: number } }).changes.n), [3, 4, 5])
  t.match(replay.at(-1)?.data, { streams: { 'review:42': { recovered: true, missed: 3, position: { epoch: start?.epoch, offset: 5 } } }, request_id: String })

  await server.app.realtime.publish('review:42', change(6))
  const next = await back.client.next()
  t.equal(next.type, 'review.updated', 'nothing else came between the result and the next live message')
  t.equal((next as { offset?: number }).offset, 6)
})

t.test('recovery refusals: epoch_changed, too_old, too_many, no_history; none replays anything', async (t) => {
  const server = await startServer(t, {
    realtime: { ...withHistory(), channels: { review: { history: { size: 5, ttlMs: 60_000 } }, lobby: {} }, maxRecoveredMessages: 3 }
  })
  const alice = await connect(t, server, 'alice')
  const { data } = await subscribe(alice.client, { channels: ['review:42'] })
  const epoch = data.positions?.['review:42']?.epoch as string
  for (let n = 1; n <= 8; n++) await server.app.realtime.publish('review:42', change(n))

  const cases = [
    { recover: { epoch: 'another-epoch', offset: 7 }, reason: 'epoch_changed' },
    { recover: { epoch, offset: 9 }, reason: 'epoch_changed', why: 'a position past the top is not this history' },
    { recover: { epoch, offset: 2 }, reason: 'too_old', why: 'offset 3 is beyond size 5' },
    { recover: { epoch, offset: 4 }, reason: 'too_many', why: '4 missed, maxRecoveredMessages 3' }
  ]
  for (const [i, { recover, reason, why }] of cases.entries()) {
    const client = await connect(t, server, `bob${i}`)
    await subscribe(client.client, { channels: ['review:42'], recover: { 'review:42': recover } })
    const [result, ...rest] = await receiveUntil(client.client, isType('recovery.result'))
    t.same(rest, [], `${reason}: nothing replayed before the result`)
    t.match(result?.data, { streams: { 'review:42': { recovered: false, reason, position: { epoch, offset: 8 } } } }, why ?? reason)
  }
  const ok = await connect(t, server, 'carol')
  await subscribe(ok.client, { channels: ['review:42'], recover: { 'review:42': { epoch, offset: 5 } } })
  t.same(offsets(await receiveUntil(ok.client, isType('recovery.result'))), [6, 7, 8, undefined], 'exactly maxRecoveredMessages is recovered')

  const lobby = await connect(t, server, 'dave')
  const confirmed = await subscribe(lobby.client, { channels: ['lobby:1'], recover: { 'lobby:1': { epoch, offset: 0 } } })
  t.equal(confirmed.data.positions, undefined, 'a namespace without history gives no position')
  t.match((await lobby.client.next('recovery.result')).data, { streams: { 'lobby:1': { recovered: false, reason: 'no_history' } } })
})

t.test('bad recover input is answered, never trusted: schema errors, other keys ignored, __proto__ inert', async (t) => {
  const server = await startServer(t, { realtime: withHistory() })
  const alice = await connect(t, server, 'alice')
  const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`review:${i}`, { epoch: 'e', offset: 0 }]))
  for (const recover of [{ 'review:1': { epoch: 'e', offset: -1 } }, { 'review:1': { epoch: '', offset: 0 } }, { 'review:1': { epoch: 'e'.repeat(65), offset: 0 } },
    { 'review:1': { epoch: 'e', offset: 1.5 } }, { 'review:1': 'e:1' }, tooMany, []]) {
    const answer = await subscribe(alice.client, { channels: ['review:1'], recover })
    t.match(answer.data, { code: 'INVALID_MESSAGE' }, JSON.stringify(recover).slice(0, 60))
  }
  alice.client.send(`{"type":"subscribe","id":"p","data":{"channels":["review:1"],"recover":{"__proto__":{"epoch":"e","offset":0},"constructor":{"epoch":"e","offset":0},"review:2":{"epoch":"e","offset":0}}}}`)
  const confirmed = await alice.client.nextWhere((m) => (m.data as { request_id?: unknown }).request_id === 'p')
  t.equal(confirmed.type, 'subscription.confirmed')
  await server.app.realtime.publish('review:1', change(1))
  const next = await alice.client.next()
  t.equal(next.type, 'review.updated', 'no recovery.result: none of the keys named a channel of the request')
  t.equal(({} as { epoch?: unknown }).epoch, undefined, 'nothing reached Object.prototype')
  const huge = await subscribe(alice.client, { channels: ['review:3'], recover: { 'review:3': { epoch: 'e', offset: Number.MAX_SAFE_INTEGER } } })
  t.equal(huge.type, 'subscription.confirmed')
  t.match((await alice.client.next('recovery.result')).data, { streams: { 'review:3': { recovered: false, reason: 'epoch_changed' } } })
})

t.test('a channel message that fits maxMessageSize only without its offsets is refused and sent to nobody; one that fits with them is numbered', async (t) => {
  const maxMessageSize = 1024
  const server = await startServer(t, { realtime: withHistory({ maxMessageSize }) })
  const member = await connect(t, server, 'alice')
  await subscribe(member.client, { channels: ['review:42', 'lobby:1'] })
  const big = { type: 'note', data: { text: 'x'.repeat(maxMessageSize - 180) } }
  t.equal(await server.app.realtime.publish('lobby:1', big), 1, 'to a channel without history it fits')
  t.match(await member.client.next('note'), { channel: 'lobby:1' })
  await t.rejects(server.app.realtime.publish('review:42', big), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' }, 'with room for its offsets it does not')
  const half = { type: 'note', data: { text: 'x'.repeat(maxMessageSize / 2) } }
  t.equal(await server.app.realtime.publish('review:42', half), 1, 'half the limit: counted in bytes, it fits with its offsets')
  const received = await receiveUntil(member.client, isType('note'))
  t.same(offsets(received), [1], 'the refused one took no offset and reached nobody; the next one is 1')
  await server.app.realtime.sendToConnection(member.id, note('marker'))
  t.same((await receiveUntil(member.client, isNote('marker'))).length, 1, 'nothing else arrived')
})
