import t from 'tap'
import { startServer } from './helpers/server.js'
import { notification } from './helpers/messages.js'

t.test('a broadcast framed once arrives intact at every size (7-bit, 16-bit and 64-bit lengths)', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 300000 } })
  const clients = await Promise.all(['a', 'b', 'c'].map(user => server.client(user)))
  for (const size of [10, 1000, 70000, 250000]) {
    t.equal(await server.app.realtime.broadcastToAll(notification('x'.repeat(size))), 3)
    for (const client of clients) t.equal((await client.next('system.notification')).data.message, 'x'.repeat(size), `${size} characters`)
  }
})

t.test('with compression on, broadcasts go through ws (no shared frame) and still arrive', async (t) => {
  const server = await startServer(t, { realtime: { compression: true } })
  const clients = await Promise.all(['a', 'b'].map(user => server.connect(user)))
  t.equal(await server.app.realtime.broadcastToAll(notification('y'.repeat(5000))), 2)
  for (const client of clients) {
    t.equal((await client.next('system.notification')).data.message, 'y'.repeat(5000))
    t.match(client.ws.extensions, /permessage-deflate/)
  }
})
