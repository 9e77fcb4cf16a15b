import { once } from 'node:events'
import path from 'node:path'
import t from 'tap'
import { openSocket } from '../helpers/client.js'
import { requireRedis, startNode, uniquePrefix, REDIS_URL } from '../redis/helpers.js'
import { change, isType, offsets, receiveUntil, subscribe, withHistory } from './support.js'
import { forkServer } from '../helpers/forked-server.js'

if (requireRedis(t)) {
  t.test('the node a client was on is SIGKILLed: on another node it recovers everything published, by the dead node too', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, realtime: withHistory() })
    const { child, ready } = await forkServer<{ port: number }>(t, path.join(__dirname, '..', 'redis', 'fixtures', 'node-process.ts'), 'REALTIME_NODE_PROCESS', { REDIS_URL, KEY_PREFIX: prefix, LEASE_MS: '1000', HISTORY: '1' })
    const told = (n: number): Promise<unknown> => {
      const answer = once(child, 'message').then(([reply]) => reply)
      child.send({ publish: n })
      return answer
    }

    const onB = await openSocket(`ws://127.0.0.1:${ready.port}/ws/${a.token('alice')}`)
    const welcome = await onB.next<{ inbox: { epoch: string, offset: number } }>('connection.established')
    const inbox = welcome.data.inbox
    onB.send({ type: 'subscribe', id: 's', data: { channels: ['review:42'] } })
    const channel = (await onB.next<{ positions: Record<string, { epoch: string, offset: number }> }>('subscription.confirmed')).data.positions['review:42']
    t.same(await told(1), { published: 1 })
    t.match(await onB.next('review.updated'), { channel: 'review:42', offset: 1 }, 'B delivers what it published, from Redis')

    // the dead node's last words, accepted by Redis, then the kill before it delivered anything more
    t.same(await told(2), { published: 2 })
    child.kill('SIGKILL')
    t.equal((await onB.closed).code, 1006)
    for (let n = 3; n <= 4; n++) {
      await a.app.realtime.publish('review:42', change(n))
      await a.app.realtime.broadcastReviewUpdated('0', { n }, ['alice'])
    }

    const onA = await openSocket(`${a.wsUrl}/${a.token('alice')}?inbox=${inbox.epoch}:1`)
    t.teardown(() => onA.close())
    const inboxReplay = await receiveUntil(onA, isType('recovery.result'))
    t.same(offsets(inboxReplay.slice(1)), [2, 3, 4, undefined], 'the inbox: B\'s message 2 and A\'s 3 and 4')
    t.same(inboxReplay.slice(1, -1).map(m => (m.data as { changes: { n: number } }).changes.n), [2, 3, 4])
    await subscribe(onA, { channels: ['review:42'], recover: { 'review:42': { epoch: channel?.epoch, offset: 1 } } })
    const channelReplay = await receiveUntil(onA, isType('recovery.result'))
    t.same(offsets(channelReplay), [2, 3, 4, undefined], 'the channel too')
    t.match(channelReplay.at(-1)?.data, { streams: { 'review:42': { recovered: true, missed: 3 } } })
  })
}
