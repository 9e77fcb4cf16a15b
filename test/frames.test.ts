import t from 'tap'
import { startServer } from './helpers/server.js'
import { messagesBeforeMarker } from './helpers/client.js'

t.test('an inbound frame over maxMessageSize closes with 1009', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 1024 } })
  const client = await server.connect('big')
  const other = await server.connect('bystander')
  client.send(JSON.stringify({ type: 'ping', data: { pingId: 'x'.repeat(2000) } }))
  const { code } = await client.closed
  t.equal(code, 1009)
  const pong = await other.request({ type: 'ping', data: { pingId: 'fine' } }, 'pong')
  t.equal(pong.data.pingId, 'fine', 'another connection is not affected')
})

t.test('a frame is refused from its header, before it is buffered whole', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 1024 } })
  const client = await server.connect('big')
  // announce a 10 MB frame but send only its start: ws must refuse on the length in the header
  const header = Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0x98, 0x96, 0x80, 1, 2, 3, 4])
  const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.write(Buffer.concat([header, Buffer.alloc(512)]))
  const { code } = await client.closed
  t.equal(code, 1009)
})

t.test('a binary frame closes with 1003', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('bin')
  client.ws.send(Buffer.from([1, 2, 3]))
  const { code } = await client.closed
  t.equal(code, 1003)
})

t.test('invalid UTF-8 closes with 1007', async (t) => {
  const server = await startServer(t)
  const client = await server.connect('utf')
  const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
  // a masked text frame whose payload is 0xff 0xfe (never valid UTF-8), mask 0
  socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]))
  const { code } = await client.closed
  t.equal(code, 1007)
})

t.test('an outbound message over maxMessageSize is not sent and the caller learns it', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: 1024 } })
  const client = await server.connect('u1')
  await t.rejects(server.app.realtime.sendToUser('u1', { type: 'system.notification', data: { message: 'x'.repeat(5000), level: 'info', timestamp: new Date().toISOString() } }), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
  t.same(await messagesBeforeMarker(client, server.app.realtime), [], 'nothing was sent')
  await t.rejects(server.app.realtime.broadcastToAll({ type: 'x', data: { big: 'y'.repeat(5000) } }), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
  const circular: Record<string, unknown> = {}
  circular.self = circular
  await t.rejects(server.app.realtime.broadcastToAll({ type: 'x', data: circular }), { code: 'FST_REALTIME_MESSAGE_INVALID' })
  await t.rejects(server.app.realtime.broadcastToAll({ type: '', data: {} }), { code: 'FST_REALTIME_MESSAGE_INVALID' })
})
