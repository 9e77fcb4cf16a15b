import t from 'tap'
import { startServer } from '../helpers/server.js'
import { change, connect, isType, receiveUntil, subscribe, withHistory } from './support.js'
import { PausedReadsAdapter } from './paused-reads.js'

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

t.test('live messages held while a recovery is read pile past maxBufferedBytes: closed as a slow consumer (4008)', async (t) => {
  const adapter = new PausedReadsAdapter()
  const server = await startServer(t, { realtime: withHistory({ adapter, maxBufferedBytes: 4096 }) })
  const first = await connect(t, server, 'alice')
  const position = (await subscribe(first.client, { channels: ['review:42'] })).data.positions?.['review:42']
  await first.client.close()
  const back = await connect(t, server, 'alice')
  adapter.history.pause()
  const reading = adapter.history.nextRead()
  back.client.send({ type: 'subscribe', id: 'r', data: { channels: ['review:42'], recover: { 'review:42': position } } })
  await reading
  const padded = { type: 'review.updated' as const, data: { review_id: '42', changes: { pad: 'p'.repeat(600) }, timestamp: new Date().toISOString() } }
  let published = 0
  while (server.app.realtime.subscribersOf('review:42') > 0 && published < 50) {
    await server.app.realtime.publish('review:42', padded)
    published++
  }
  t.ok(published > 1 && published <= 8, `let go after the held messages passed the bound (${published} of about 700 bytes)`)
  adapter.history.resume()
  t.same(await back.client.closed, { code: 4008, reason: 'slow consumer' })
  t.ok(server.logs.some(line => line.includes('too much held while recovering')))
  t.equal(server.app.realtime.stats().connections, 0, 'it left no connection behind')
})
