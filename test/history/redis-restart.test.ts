import t from 'tap'
import { openSocket } from '../helpers/client.js'
import { adapterStatus as status, requireRedis, requireRedisServerBinary, startNode, startPrivateRedis, uniquePrefix, type ClusterNode } from '../redis/helpers.js'
import { change, connect, isType, note, receiveUntil, subscribe, withHistory } from './support.js'

if (requireRedis(t) && requireRedisServerBinary(t)) {
  t.test('Redis restarts empty: a returning client is told epoch_changed, a connected one before the first message of the new epoch', async (t) => {
    const redis = await startPrivateRedis(t)
    const prefix = uniquePrefix(t, redis.url)
    const a = await startNode(t, { prefix, url: redis.url, adapter: { heartbeatMs: 20, leaseMs: 1000 }, realtime: withHistory() })
    const leaving = await connect(t, a, 'alice')
    const staying = await connect(t, a, 'carol')
    const before = (await subscribe(leaving.client, { channels: ['review:42'] })).data.positions?.['review:42']
    await subscribe(staying.client, { channels: ['review:42'] })
    await a.app.realtime.publish('review:42', change(1))
    t.match(await staying.client.next('review.updated'), { offset: 1 })
    await leaving.client.close()

    await redis.kill()
    await status(a, 'disconnected')
    await redis.start()
    await status(a, 'connected')

    await a.app.realtime.publish('review:42', change(2))
    const [notice, first] = await receiveUntil(staying.client, isType('review.updated'))
    t.equal(notice?.type, 'recovery.result', 'the connected client first hears that its history is gone')
    const after = (notice?.data as { streams: Record<string, { position: { epoch: string, offset: number } }> }).streams['review:42']?.position
    t.match(notice?.data, { streams: { 'review:42': { recovered: false, reason: 'epoch_changed', position: { offset: 0 } } } })
    t.not(after?.epoch, before?.epoch, 'a new epoch')
    t.match(first, { offset: 1, data: { changes: { n: 2 } } }, 'then the new epoch\'s first message')

    await a.app.realtime.sendToUser('carol', note('inbox'))
    const [inboxNotice] = await receiveUntil(staying.client, isType('system.notification'))
    t.match(inboxNotice?.data, { streams: { inbox: { recovered: false, reason: 'epoch_changed', position: { offset: 0 } } } }, 'the inbox too')

    const back = await openSocket(`${a.wsUrl}/${a.token('alice')}?inbox=${leaving.welcome.inbox?.epoch ?? ''}:0`)
    t.teardown(() => back.close())
    const [, inboxResult] = await receiveUntil(back, isType('recovery.result'))
    t.match(inboxResult?.data, { streams: { inbox: { recovered: false, reason: 'epoch_changed' } } })
    await subscribe(back, { channels: ['review:42'], recover: { 'review:42': { epoch: before?.epoch, offset: 1 } } })
    const [result, ...rest] = await receiveUntil(back, isType('recovery.result'))
    t.same(rest, [])
    t.same(result?.data.streams, { 'review:42': { recovered: false, reason: 'epoch_changed', position: { epoch: after?.epoch, offset: 1 } } })
  })
}
