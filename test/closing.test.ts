import t from 'tap'
import { startServer } from './helpers/server.js'

t.test('a peer that never answers the server\'s close frame is cut off after the grace, freeing its buffer', async (t) => {
  const server = await startServer(t, { realtime: { maxBufferedBytes: 64 * 1024, maxMessageSize: 70000, heartbeatIntervalMs: 200, connectionTimeoutMs: 60000 } })
  const stalled = await server.client('stalled')
  const reader = await server.client('reader')
  stalled.pause()
  const payload = 'z'.repeat(60000)
  let rounds = 0
  while (server.app.realtime.stats().slowConsumerEvents === 0 && rounds < 500) {
    await server.app.realtime.broadcastToAll({ type: 'system.notification', data: { message: payload, level: 'info', timestamp: '' } })
    await reader.next('system.notification')
    rounds++
  }
  t.equal(server.app.realtime.stats().slowConsumerEvents, 1, 'closed as a slow consumer once, not counted again on later sends')
  t.equal(server.app.realtime.stats().connections, 1, 'forgotten at once')
  const started = Date.now()
  while (server.app.websocketServer.clients.size > 1) await new Promise(resolve => setTimeout(resolve, 50))
  const cutOffAfterMs = Date.now() - started
  t.ok(cutOffAfterMs < 5000, `socket destroyed ${cutOffAfterMs} ms after the close frame, not ws's 30 s`)
  await server.app.realtime.broadcastToAll({ type: 'system.notification', data: { message: 'after', level: 'info', timestamp: '' } })
  t.equal(server.app.realtime.stats().slowConsumerEvents, 1)
  t.equal((await reader.next('system.notification')).data.message, 'after')
})
