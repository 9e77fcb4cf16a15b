import t from 'tap'
import type { AdapterContext } from '../../lib/index.js'
import { startServer } from '../helpers/server.js'
import { openSocket, refusalOf, marker, messagesBefore } from '../helpers/client.js'
import { connectAs } from '../helpers/server.js'
import { subscribeWith } from '../helpers/client.js'
import { deferred } from '../helpers/deferred.js'
import { eventually } from '../helpers/wait.js'

// Paths a custom adapter opens: a releaseConnection that rejects, a
// handshake whose slot is claimed after it timed out, messages from
// "another node" handed in through the adapter's context.

const logged = (logs: string[], text: string): boolean => logs.some(line => line.includes(text))

t.test('a releaseConnection that rejects when a connection ends is warned, not thrown', async (t) => {
  const released = deferred<string>()
  const adapter = {
    start: async () => {},
    publish: async () => {},
    close: async () => {},
    acquireConnection: async () => true,
    releaseConnection: async (userId: string) => { released.resolve(userId); throw new Error('slot store down') }
  }
  const server = await startServer(t, { realtime: { adapter } })
  const client = await server.connect('a')
  await client.close()
  t.equal(await released.promise, 'a')
  await eventually(() => logged(server.logs, 'could not release a connection slot'), 'the warning')
  const line = JSON.parse(server.logs.find(l => l.includes('could not release a connection slot')) as string) as { level: number, err: { message: string } }
  t.equal(line.level, 40, 'warn')
  t.equal(line.err.message, 'slot store down')
})

t.test('a slot claimed after the handshake timed out is given back; a rejecting release is warned', async (t) => {
  const claiming = deferred<void>()
  const letGo = deferred<void>()
  const released = deferred<string>()
  const adapter = {
    start: async () => {},
    publish: async () => {},
    close: async () => {},
    acquireConnection: async () => { claiming.resolve(); await letGo.promise; return true },
    releaseConnection: async (userId: string) => { released.resolve(userId); throw new Error('slot store down') }
  }
  const server = await startServer(t, { realtime: { adapter, handshakeTimeoutMs: 20 } })
  const refusal = await refusalOf(openSocket(`${server.wsUrl}/${server.token('late')}`))
  await claiming.promise
  t.equal(refusal.statusCode, 503)
  t.match(refusal.body, { code: 'FST_REALTIME_HANDSHAKE_TIMEOUT' })
  letGo.resolve()
  t.equal(await released.promise, 'late', 'the late slot is released')
  await eventually(() => logged(server.logs, 'could not release the connection slot of an abandoned handshake'), 'the warning')
})

t.test('messages from another node through the adapter', async (t) => {
  let context: AdapterContext | undefined
  const adapter = {
    start: async (c: AdapterContext) => { context = c },
    publish: async () => {},
    close: async () => {}
  }
  const server = await startServer(t, { realtime: { adapter, channels: { review: {} }} })
  const member = await connectAs(t, server, 'a')
  const subscribed = await connectAs(t, server, 'a')
  const notSubscribed = await connectAs(t, server, 'a')
  const other = await connectAs(t, server, 'b')
  await subscribeWith(member.client, { channels: ['review:1'] })
  await subscribeWith(subscribed.client, { events: ['review.updated'] })
  await subscribeWith(other.client, { events: ['review.updated'] })
  const receive = (context as AdapterContext).receive

  t.test('a users-with-channel delivery with an event: members get the channel copy, subscribers the plain one, others nothing', async (t) => {
    const payload = JSON.stringify({ type: 'review.updated', data: { n: 1 }, timestamp: 't', id: 'm1' })
    receive({ kind: 'deliver', target: { kind: 'withChannel', base: { kind: 'users', userIds: ['a'], event: 'review.updated' }, channel: 'review:1' }, payload })
    receive({ kind: 'deliver', target: { kind: 'withChannel', base: { kind: 'users', userIds: ['a', 'b', 'nobody', 'a'], event: 'review.updated' }, channel: 'review:1' }, payload })
    for (const [client, expected] of [[member, ['review:1', 'review:1']], [subscribed, [undefined, undefined]], [notSubscribed, []], [other, [undefined]]] as const) {
      const label = marker().data.label
      await server.app.realtime.sendToConnection(client.id, marker(label))
      const before = await messagesBefore(client.client, label)
      t.same(before.filter(m => m.type === 'review.updated').map(m => m.channel), expected)
    }
  })

  t.test('an event-with-channel delivery for an event nobody here subscribes to: the members only', async (t) => {
    const payload = JSON.stringify({ type: 'review.updated', data: { n: 2 }, timestamp: 't', id: 'm2' })
    receive({ kind: 'deliver', target: { kind: 'withChannel', base: { kind: 'event', event: 'nobody.subscribes' }, channel: 'review:1' }, payload })
    for (const [client, expected] of [[member, ['review:1']], [subscribed, []], [other, []]] as const) {
      const label = marker().data.label
      await server.app.realtime.sendToConnection(client.id, marker(label))
      const before = await messagesBefore(client.client, label)
      t.same(before.filter(m => m.type === 'review.updated').map(m => m.channel), expected)
    }
  })

  t.test('sendToUsers with subscribedTo: only the users\' connections subscribed to it', async (t) => {
    t.equal(await server.app.realtime.sendToUsers(['a', 'b'], { type: 'some.event', data: {} }, { subscribedTo: 'review.updated' }), 2)
  })
})

t.test('the adapter context answers what this node holds: connections of a user, a connection by id', async (t) => {
  let context: AdapterContext | undefined
  const adapter = { start: async (c: AdapterContext) => { context = c }, publish: async () => {}, close: async () => {} }
  const server = await startServer(t, { realtime: { adapter } })
  const ctx = context as AdapterContext
  t.equal(ctx.localConnectionCount('alice'), 0, 'nobody yet')
  const first = await server.connect('alice')
  await server.connect('alice')
  t.equal(ctx.localConnectionCount('alice'), 2, 'two connections of alice here')
  t.equal(ctx.localConnectionCount('bob'), 0)
  await first.close()
  await eventually(() => ctx.localConnectionCount('alice') === 1, 'one left after a close')
  t.equal(ctx.hasConnection('no-such-connection'), false)
})
