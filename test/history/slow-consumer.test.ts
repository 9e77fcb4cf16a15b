import t from 'tap'
import { startServer } from '../helpers/server.js'
import { change, connect, isType, receiveUntil, subscribe, withHistory } from './support.js'

t.test('after a recovery, a client that stops reading is still a slow consumer (4008)', async (t) => {
  const server = await startServer(t, { realtime: withHistory({ maxBufferedBytes: 64 * 1024, maxMessageSize: 128 * 1024 }) })
  const first = await connect(t, server, 'alice')
  const position = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']
  await first.client.close()
  await server.app.realtime.publish('review:42', change(1))
  const back = await connect(t, server, 'alice')
  await subscribe(back.client, { channels: ['review:42'], recover: { 'review:42': position } })
  await receiveUntil(back.client, isType('recovery.result'))
  await server.app.realtime.publish('review:42', change(2))
  await back.client.next('review.updated')

  // stops reading: the server's socket buffer fills
  ;(back.client.ws as unknown as { _socket: { pause (): void } })._socket.pause()
  const big = { type: 'review.updated' as const, data: { review_id: '42', changes: { pad: 'p'.repeat(32 * 1024) }, timestamp: new Date().toISOString() } }
  let closed = false
  void back.client.closed.then(() => { closed = true })
  for (let i = 0; i < 2000 && server.app.realtime.subscribersOf('review:42') > 0; i++) await server.app.realtime.publish('review:42', big)
  t.equal(server.app.realtime.subscribersOf('review:42'), 0, 'the server let go of it')
  ;(back.client.ws as unknown as { _socket: { resume (): void } })._socket.resume()
  t.equal((await back.client.closed).code, 4008)
  t.ok(closed)
})
