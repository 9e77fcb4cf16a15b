import t from 'tap'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { startServer, type TestServer } from '../helpers/server.js'
import { until } from '../hardening/support.js'

// Every write to a socket happens inside a socket callback, a timer or a
// fan-out loop: if ws throws, the failure is logged, counted and the
// connection closed, never thrown to the caller or out of the callback.
// Real sockets cannot be made to fail on demand, so these tests make the
// server-side ws of one connection throw (fault injection); everything else
// is the real server and real clients.

/** The server-side socket of the only connection open so far. */
function onlyServerSocket (server: TestServer): WebSocket {
  const sockets = [...server.app.websocketServer.clients]
  if (sockets.length !== 1) throw new Error(`expected one server socket, found ${sockets.length}`)
  return sockets[0] as WebSocket
}

const boom = (): never => { throw new Error('injected write failure') }

t.test('ws.send throwing on a reply: the connection is closed 1011, the process and other users go on', async (t) => {
  const server = await startServer(t)
  const broken = await server.connect('broken')
  onlyServerSocket(server).send = boom
  const healthy = await server.connect('healthy')

  // a reply from inside the socket's message callback: a throw there would be an uncaught exception
  broken.send({ type: 'ping', data: { pingId: 'p' } })
  const { code, reason } = await broken.closed
  t.same({ code, reason }, { code: 1011, reason: 'send failed' })
  t.equal(server.app.realtime.stats().sendFailures, 1)
  t.match(server.logs.join(''), /websocket send failed/)
  t.equal(server.app.realtime.connectionsOf('broken').length, 0, 'forgotten at once')

  const pong = await healthy.request({ type: 'ping', data: { pingId: 'still' } }, 'pong')
  t.equal(pong.data.pingId, 'still')
})

t.test('a write throwing during a broadcast: the call resolves with the others, the broken socket is cut off', async (t) => {
  const server = await startServer(t)
  const broken = await server.connect('broken')
  // the pre-framed fast path writes to the TCP socket; ws's own close frame would go the same way
  const raw = (onlyServerSocket(server) as unknown as { _socket: Socket })._socket
  raw.write = boom
  const first = await server.connect('first')
  const second = await server.connect('second')

  const notification = { type: 'system.notification', data: { message: 'to all', level: 'info', timestamp: new Date().toISOString() } } as const
  t.equal(await server.app.realtime.broadcastToAll(notification), 2, 'delivered to the two healthy sockets')
  for (const client of [first, second]) t.equal((await client.next('system.notification')).data.message, 'to all')
  // its close frame cannot be written either: the socket is terminated
  t.equal((await broken.closed).code, 1006)
  t.equal(server.app.realtime.stats().sendFailures, 1)
  t.match(server.logs.join(''), /websocket close refused; terminating/)
  t.equal(server.app.realtime.stats().connections, 2)
  t.equal(await server.app.realtime.broadcastToAll(notification), 2, 'later deliveries skip it')
})

t.test('ws.ping throwing in the heartbeat sweep (a timer): the connection is closed 1011, the sweep goes on', async (t) => {
  const server = await startServer(t, { realtime: { heartbeatIntervalMs: 100, connectionTimeoutMs: 60_000 } })
  const broken = await server.connect('broken')
  onlyServerSocket(server).ping = boom
  const healthy = await server.connect('healthy')
  t.same(await broken.closed, { code: 1011, reason: 'ping failed' })
  t.match(server.logs.join(''), /websocket ping failed/)
  // the healthy connection is pinged by the same sweep, and answers
  await until(() => server.app.realtime.stats().connections === 1, 'the broken connection is forgotten')
  const pong = await healthy.request({ type: 'ping', data: { pingId: 'after' } }, 'pong')
  t.equal(pong.data.pingId, 'after')
})
