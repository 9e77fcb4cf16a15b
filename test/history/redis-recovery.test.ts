import t from 'tap'
import { openSocket } from '../helpers/client.js'
import { requireRedis, startNode, uniquePrefix } from '../redis/helpers.js'
import { change, connect, isNote, isType, note, offsets, receiveUntil, subscribe, withHistory } from './support.js'

if (requireRedis(t)) {
  for (const channelRouting of ['per-channel', 'shared'] as const) {
    t.test(`Redis (${channelRouting}): published on A while the client was away, recovered on B; live in order on both`, async (t) => {
      const prefix = uniquePrefix(t)
      const options = { prefix, adapter: { channelRouting }, realtime: withHistory() }
      const a = await startNode(t, options)
      const b = await startNode(t, options)
      const onA = await connect(t, a, 'alice')
      const position = (await subscribe(onA.client, { channels: ['review:42'] })).data.positions?.['review:42']
      const watcher = await connect(t, b, 'bob')
      await subscribe(watcher.client, { channels: ['review:42'] })
      // from both nodes at once: each node delivers the stream in one order, its own messages included
      await Promise.all([1, 2, 3, 4].map(n => (n % 2 === 0 ? a : b).app.realtime.publish('review:42', change(n))))
      const seenOnA = [1, 2, 3, 4].map(() => onA.client.next('review.updated'))
      const seenOnB = [1, 2, 3, 4].map(() => watcher.client.next('review.updated'))
      t.same(offsets(await Promise.all(seenOnA)), [1, 2, 3, 4], 'in offset order on A')
      t.same(offsets(await Promise.all(seenOnB)), [1, 2, 3, 4], 'in offset order on B')
      await onA.client.close()

      for (let n = 5; n <= 7; n++) await a.app.realtime.publish('review:42', change(n))
      const onB = await connect(t, b, 'alice')
      await subscribe(onB.client, { channels: ['review:42'], recover: { 'review:42': { epoch: position?.epoch, offset: 4 } } })
      const replay = await receiveUntil(onB.client, isType('recovery.result'))
      t.same(offsets(replay), [5, 6, 7, undefined], 'node B replays from Redis what A published')
      t.match(replay.at(-1)?.data, { streams: { 'review:42': { recovered: true, missed: 3, position: { epoch: position?.epoch, offset: 7 } } } })
      await a.app.realtime.publish('review:42', change(8))
      t.equal((await onB.client.next() as { offset?: number }).offset, 8, 'then live, nothing in between')
    })
  }

  t.test('Redis: the inbox, across nodes', async (t) => {
    const prefix = uniquePrefix(t)
    const options = { prefix, realtime: withHistory() }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const onA = await connect(t, a, 'alice')
    const epoch = onA.welcome.inbox?.epoch as string
    t.equal(await b.app.realtime.sendToUser('alice', note('one')), 0, 'no connection of alice on B')
    t.match(await onA.client.next('system.notification'), { inbox: true, offset: 1 })
    await onA.client.close()
    await a.app.realtime.sendToUser('alice', note('two'))
    await b.app.realtime.broadcastFileProcessingStatus('alice', 'f', 'ready')
    const onB = await openSocket(`${b.wsUrl}/${b.token('alice')}?inbox=${epoch}:1`)
    t.teardown(() => onB.close())
    const messages = await receiveUntil(onB, isType('recovery.result'))
    t.same(messages.map(m => m.type), ['connection.established', 'system.notification', 'file.ready', 'recovery.result'])
    t.same(offsets(messages), [undefined, 2, 3, undefined])
    t.same((messages[0]?.data as { inbox?: unknown }).inbox, { epoch, offset: 3 })
    t.equal(await b.app.realtime.sendToUser('alice', note('four')), 1, 'the count is of this node\'s connections it is for')
    t.match(await onB.next(), { offset: 4, data: { message: 'four' } })
  })

  t.test('Redis: a publish to a stream while Redis cannot number it is sent to nobody, and rejects', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: withHistory() })
    const alice = await connect(t, a, 'alice')
    await subscribe(alice.client, { channels: ['review:42', 'lobby:1'] })
    await a.adapter.close()
    await t.rejects(a.app.realtime.publish('review:42', change(1)), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 0 })
    await t.rejects(a.app.realtime.sendToUser('alice', note('lost')), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 0 })
    await t.rejects(a.app.realtime.publish('lobby:1', note('no history')), { code: 'FST_REALTIME_PUBLISH_FAILED', delivered: 1 }, 'a channel without history: delivered here, as before')
    const late = await subscribe(alice.client, { channels: ['review:43'], recover: { 'review:43': { epoch: 'e', offset: 0 } } })
    t.equal(late.data.positions?.['review:43'], undefined, 'no position to give')
    t.match((await alice.client.next('recovery.result')).data, { streams: { 'review:43': { recovered: false, reason: 'unavailable' } } })
    t.same((await receiveUntil(alice.client, isNote('no history'))).map(m => m.type), ['system.notification'], 'nothing of the unnumbered ones reached the client')
  })

  t.test('Redis: broadcastReviewUpdated beside review:<id> with history from a node holding no member counts its own connections; the member elsewhere gets it numbered', async (t) => {
    const prefix = uniquePrefix(t)
    const options = { prefix, realtime: { channels: { review: { history: { size: 10, ttlMs: 60_000 } } } } }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const member = await connect(t, b, 'bob')
    await subscribe(member.client, { channels: ['review:42'] })
    t.equal(await a.app.realtime.broadcastReviewUpdated('42', { n: 1 }), 0, 'on A: no member, no event subscriber')
    t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 1, data: { changes: { n: 1 } } })
    const watcher = await connect(t, a, 'alice')
    await subscribe(watcher.client, { events: ['review.updated'] })
    t.equal(await a.app.realtime.broadcastReviewUpdated('42', { n: 2 }), 1, 'on A: its event subscriber')
    t.same(Object.keys(await watcher.client.next('review.updated')), ['type', 'data', 'timestamp', 'id'], 'the event subscriber: the plain form')
    t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 2 })
    const memberOnA = await connect(t, a, 'carol')
    await subscribe(memberOnA.client, { channels: ['review:42'] })
    t.equal(await a.app.realtime.broadcastReviewUpdated('42', { n: 3 }), 2, 'on A: its member and its event subscriber, once each')
    t.match(await memberOnA.client.next('review.updated'), { channel: 'review:42', offset: 3 })
    t.match(await member.client.next('review.updated'), { channel: 'review:42', offset: 3 })
    t.same(Object.keys(await watcher.client.next('review.updated')), ['type', 'data', 'timestamp', 'id'])
  })
}

if (requireRedis(t)) {
  t.test('Redis: a recovery on B while A keeps publishing: every offset once, in order, the result at the seam', async (t) => {
    const prefix = uniquePrefix(t)
    const options = { prefix, realtime: withHistory({ channels: { review: { history: { size: 1000, ttlMs: 60_000 } } } }) }
    const a = await startNode(t, options)
    const b = await startNode(t, options)
    const first = await connect(t, b, 'alice')
    const position = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']
    await first.client.close()
    for (let n = 1; n <= 20; n++) await a.app.realtime.publish('review:42', change(n))

    const back = await connect(t, b, 'alice')
    let publishing = true
    let published = 20
    const publisher = (async () => {
      while (publishing && published < 400) {
        await a.app.realtime.publish('review:42', change(++published))
      }
    })()
    back.client.send({ type: 'subscribe', id: 'r', data: { channels: ['review:42'], recover: { 'review:42': { epoch: position?.epoch, offset: 0 } } } })
    await back.client.next('subscription.confirmed', 10_000)
    const result = await back.client.next('recovery.result', 10_000)
    publishing = false
    await publisher
    const last = published
    const received = await receiveUntil(back.client, (m) => (m as { offset?: number }).offset === last, 10_000)
    t.match(result.data, { streams: { 'review:42': { recovered: true } } })
    const all = offsets(received.filter(m => m.type === 'review.updated'))
    t.same(all, Array.from({ length: last }, (_, i) => i + 1), `offsets 1..${last}, each once, in order`)
  })
}
