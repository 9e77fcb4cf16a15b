import t from 'tap'
import type { Socket } from 'node:net'
import { startServer } from '../helpers/server.js'
import { messagesBeforeMarker, openSocket } from '../helpers/client.js'

function rawSocket (ws: unknown): Socket {
  return (ws as { _socket: Socket })._socket
}

t.test('compression is off by default: a client offering permessage-deflate gets no extension', async (t) => {
  const server = await startServer(t)
  // ws clients offer permessage-deflate unless told not to
  const client = await openSocket(`${server.wsUrl}/${server.token('u')}`, { perMessageDeflate: true })
  t.teardown(() => client.close())
  await client.next('connection.established')
  t.equal(client.ws.extensions, '', 'no extension negotiated')
  // and frames really go uncompressed: 100 KB of text is not shrunk on the wire
  const before = rawSocket(client.ws).bytesRead
  const received = client.next('x')
  await server.app.realtime.broadcastToAll({ type: 'x', data: { text: 'a'.repeat(50000) } })
  await received
  t.ok(rawSocket(client.ws).bytesRead - before > 50000, 'sent uncompressed')
})

t.test('decompression bomb protection: with compression on, a small frame that inflates past maxMessageSize closes with 1009', async (t) => {
  const server = await startServer(t, { realtime: { compression: true, maxMessageSize: 1024 } })
  const bomb = await openSocket(`${server.wsUrl}/${server.token('bomber')}`, { perMessageDeflate: { threshold: 0 } })
  const bystander = await server.connect('bystander')
  t.teardown(() => bomb.close())
  await bomb.next('connection.established')
  t.match(bomb.ws.extensions, /permessage-deflate/, 'the extension was negotiated')

  // a compressed message within the limit is fine
  const pong = await bomb.request({ type: 'ping', data: { pingId: 'small' } }, 'pong')
  t.equal(pong.data.pingId, 'small')

  const socket = rawSocket(bomb.ws)
  const before = socket.bytesWritten
  bomb.send(JSON.stringify({ type: 'ping', data: { pingId: 'a'.repeat(100 * 1024) } }))
  const { code } = await bomb.closed
  const onTheWire = socket.bytesWritten - before
  t.ok(onTheWire < 1024, `the frame was ${onTheWire} bytes on the wire, under maxMessageSize: only inflation can tell`)
  t.equal(code, 1009, 'closed as too big once inflated past maxMessageSize')

  const fine = await bystander.request({ type: 'ping', data: { pingId: 'still here' } }, 'pong')
  t.equal(fine.data.pingId, 'still here', 'other connections are not affected')
  t.equal(server.app.realtime.stats().connections, 1)
})

t.test('with compression on, outbound messages are still bounded by their uncompressed size', async (t) => {
  const server = await startServer(t, { realtime: { compression: true, maxMessageSize: 1024 } })
  const client = await openSocket(`${server.wsUrl}/${server.token('u')}`)
  t.teardown(() => client.close())
  await client.next('connection.established')
  // compresses to a few bytes, but it is 5 KB of message: refused before any compression
  await t.rejects(server.app.realtime.broadcastToAll({ type: 'x', data: { text: 'a'.repeat(5000) } }), { code: 'FST_REALTIME_MESSAGE_TOO_LARGE' })
  t.same(await messagesBeforeMarker(client, server.app.realtime), [], 'nothing was sent')
})
