import t from 'tap'
import { startServer } from '../helpers/server.js'
import { presenceConformance } from './conformance.js'
import { nextStatuses, subscribedToStatus } from './support.js'
import { until } from '../channels/support.js'
import { MemoryAdapter, type ClusterMessage } from '../../lib/index.js'

presenceConformance(t, {
  name: 'memory',
  async start (t, count, realtime) {
    const server = await startServer(t, { realtime })
    return Array.from({ length: count }, () => server)
  }
})

t.test('memory: with nobody connected, every query answers empty', async (t) => {
  const server = await startServer(t, { realtime: { presence: true, channels: { review: { presence: true } } } })
  t.same(await server.app.realtime.onlineUsers(['alice', 'bob']), [])
  t.equal(await server.app.realtime.onlineCount(), 0)
  t.equal(await server.app.realtime.isOnline('alice'), false)
  t.same(await server.app.realtime.presenceOf('review:1'), { channel: 'review:1', count: 0, users: [] })
})

/** The in-memory adapter, as if the other nodes could not be reached. */
class Unreachable extends MemoryAdapter {
  override async publish (_message: ClusterMessage): Promise<void> {
    throw new Error('cluster unreachable')
  }
}

t.test('memory: an announcement the other nodes cannot get still reaches this node\'s clients, and is warned about', async (t) => {
  const server = await startServer(t, {
    realtime: { adapter: new Unreachable(), presence: { audience: (userId) => userId === 'observer' ? [] : 'all' }, channels: { review: { presence: true } } }
  })
  const observer = await subscribedToStatus(await server.connect('observer'))
  await observer.request({ type: 'subscribe', data: { channels: ['review:1'] } }, 'subscription.confirmed')
  t.match(await observer.next('presence.joined'), { channel: 'review:1', data: { channel: 'review:1', user_id: 'observer' } })

  const alice = await server.connect('alice')
  t.same(await nextStatuses(observer, 1), ['alice:online'], 'the status change, delivered here')
  await until(() => server.logs.some(line => line.includes('could not announce a status change to every node')), 'the warning')
  await alice.request({ type: 'subscribe', data: { channels: ['review:1'] } }, 'subscription.confirmed')
  t.match(await observer.next('presence.joined'), { data: { channel: 'review:1', user_id: 'alice' } }, 'the channel\'s presence, delivered here')
  await until(() => server.logs.some(line => line.includes('could not announce a channel presence change to every node')), 'the warning')
  t.ok(server.logs.some(line => line.includes('cluster unreachable') && line.includes('"level":40')), 'warned with the adapter\'s reason')
})
