import t from 'tap'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { startServer } from '../helpers/server.js'

// The plugin's own @fastify/websocket answers with the realtime subprotocol
// only: a client that offers others and not it gets no subprotocol back (ws
// would otherwise echo the first offered, which may be a bearer token).

t.test('a client offering subprotocols but not the realtime one: accepted, answered with none of them', async (t) => {
  const server = await startServer(t)
  const client = new WebSocket(server.wsUrl, ['chat.v2'], { headers: { authorization: `Bearer ${server.token('alice')}` } })
  const failed = once(client, 'error')
  const [response] = await once(client, 'upgrade') as [IncomingMessage]
  t.equal(response.statusCode, 101, 'the handshake itself was accepted')
  t.equal(response.headers['sec-websocket-protocol'], undefined, 'no subprotocol in the answer: none of those offered')
  const [err] = await failed as [Error]
  t.match(err.message, /Server sent no subprotocol/, 'so the ws client gives up on its side, as the RFC says it may')
})
