import t from 'tap'
import { startServer } from '../helpers/server.js'
import { connect, deferred, receivedBefore, subscribe, until, type Deferred } from './support.js'
import { MemoryAdapter } from '../../lib/index.js'

/** An adapter whose cluster routing of a channel is ready only when the test says so. */
class GatedAdapter extends MemoryAdapter {
  readonly pending: Array<{ channel: string, ready: Deferred<void> }> = []
  readonly left: string[] = []
  subscribeChannel (channel: string): Promise<void> {
    const ready = deferred<void>()
    this.pending.push({ channel, ready })
    return ready.promise
  }

  async unsubscribeChannel (channel: string): Promise<void> {
    this.left.push(channel)
  }
}

t.test('subscribe and join are confirmed only once the adapter routes the channel to this node', async (t) => {
  const adapter = new GatedAdapter()
  const server = await startServer(t, { realtime: { adapter, channels: { open: {} } } })
  const alice = await connect(t, server, 'alice')
  const bob = await connect(t, server, 'bob')
  const confirmed = subscribe(alice.client, { channels: ['open:1'] })
  await until(() => adapter.pending.length === 1, 'the adapter to be asked')
  const second = subscribe(bob.client, { channels: ['open:1'] })
  const joined = server.app.realtime.join({ userId: 'bob' }, 'open:2')
  t.same(await receivedBefore(alice, server.app), [], 'no confirmation before the channel is routed here')
  t.same(adapter.pending.map(p => p.channel), ['open:1', 'open:2'], 'asked once per channel, not per member')
  adapter.pending[0]?.ready.resolve()
  t.match(await confirmed, { type: 'subscription.confirmed' })
  t.match(await second, { type: 'subscription.confirmed' }, 'a second member waited for the same routing')
  adapter.pending[1]?.ready.resolve()
  t.equal(await joined, 1)
  t.same((await bob.client.next('subscription.joined')).data, { channel: 'open:2' })
})

t.test('a connection that closes while its channel is being routed gets nothing and leaves no index behind', async (t) => {
  const adapter = new GatedAdapter()
  const server = await startServer(t, { realtime: { adapter, channels: { open: {} } } })
  const alice = await connect(t, server, 'alice')
  alice.client.send({ type: 'subscribe', data: { channels: ['open:1'] } })
  await until(() => adapter.pending.length === 1, 'the adapter to be asked')
  await alice.client.close()
  await until(() => server.app.realtime.connectionsOf('alice').length === 0, 'the server to forget alice')
  t.same(adapter.left, ['open:1'], 'the node stops listening at once')
  adapter.pending[0]?.ready.resolve()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(server.app.realtime.subscribersOf('open:1'), 0)
  t.equal(server.app.realtime.stats().channels, 0)
})
