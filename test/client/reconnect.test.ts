import t from 'tap'
import { ConnectionState, type ReviewUpdated, type StateChange } from '../../lib/client/index.js'
import { createClient, next, nextState, startRealtime, token } from './support.js'

t.test('after the server restarts on the same port, the client reconnects, restores its subscriptions and receives events again', async (t) => {
  const first = await startRealtime(t)
  const client = createClient(t, { url: first.url, token: () => token('alice') })
  const states: StateChange[] = []
  client.on('state', (change) => states.push(change))
  const updates: ReviewUpdated[] = []
  client.on('review.updated', (data) => updates.push(data))

  await client.connect()
  t.match(await client.subscribe(['review.updated', 'file.ready']), { events: ['review.updated', 'file.ready'], subscriptions: ['review.updated', 'file.ready'] })
  const firstUpdate = next(client, 'review.updated')
  t.equal(await first.app.realtime.broadcastReviewUpdated('r1', { status: 'approved' }), 1)
  t.match((await firstUpdate)[0], { review_id: 'r1', changes: { status: 'approved' } })

  const lost = next(client, 'close')
  await first.close()
  t.match((await lost)[0], { code: 1001, willReconnect: true }, 'the server said it is going away')
  t.equal(client.state, ConnectionState.reconnecting)

  // the client keeps trying (and failing: nothing listens) until a new server takes the port
  await next(client, 'reconnect')
  const second = await startRealtime(t, { port: first.port })
  const restored = next(client, 'subscription.confirmed')
  const [established] = await next(client, 'open')
  t.equal(established.user_id, 'alice')
  t.same((await restored)[0].subscriptions.sort(), ['file.ready', 'review.updated'], 'restored on the new server')
  t.same(client.subscriptions.sort(), ['file.ready', 'review.updated'])

  const secondUpdate = next(client, 'review.updated')
  t.equal(await second.app.realtime.broadcastReviewUpdated('r2', { status: 'merged' }), 1, 'the new server has the subscription')
  t.match((await secondUpdate)[0], { review_id: 'r2' })
  t.same(updates.map(u => u.review_id), ['r1', 'r2'])
  t.same(states.map(s => s.state).filter((s, i, all) => s !== all[i - 1]).slice(0, 4), ['connecting', 'open', 'reconnecting', 'open'])
})

t.test('unsubscribed events are not restored', async (t) => {
  const first = await startRealtime(t)
  const client = createClient(t, { url: first.url, token: token('bob'), subscriptions: ['review.updated'] })
  const restored = next(client, 'subscription.confirmed')
  await client.connect()
  t.same((await restored)[0].subscriptions, ['review.updated'], 'the subscriptions option is subscribed on open')
  await client.subscribe('file.ready')
  t.match(await client.unsubscribe('review.updated'), { subscriptions: ['file.ready'] })

  await first.close()
  await nextState(client, 'reconnecting')
  await startRealtime(t, { port: first.port })
  const again = next(client, 'subscription.confirmed')
  await client.waitForOpen()
  t.same((await again)[0].subscriptions, ['file.ready'])
})

t.test('subscribe() and unsubscribe() while disconnected are sent, in order, once connected', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('carol') })
  const subscribed = client.subscribe(['upload.progress', 'upload.completed'])
  const unsubscribed = client.unsubscribe('upload.completed')
  t.equal(client.queuedMessages, 2)
  client.connect()
  t.match(await subscribed, { events: ['upload.progress', 'upload.completed'], subscriptions: ['upload.progress', 'upload.completed'] })
  t.match(await unsubscribed, { events: ['upload.completed'], subscriptions: ['upload.progress'] })
  t.same(client.subscriptions, ['upload.progress'])
})
