import t from 'tap'
import WebSocket from 'ws'
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { startServer, type TestServer } from '../helpers/server.js'
import { openSocket } from '../helpers/client.js'

// A host that registered @fastify/websocket itself owns its options and its
// shutdown: the plugin's own sockets must still close with 1001 and never
// hear their token echoed back.

function hostWebsocket (options: WebsocketPluginOptions = {}) {
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(fastifyWebsocket, options)
    // the host's own WebSocket route, next to the plugin's
    app.get('/host-socket', { websocket: true }, (socket) => {
      socket.on('message', (data) => socket.send(data))
    })
  }
}

async function hostClient (server: TestServer): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/host-socket`)
  ws.on('error', () => {})
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return ws
}

const closeOf = (ws: WebSocket): Promise<{ code: number, reason: string }> =>
  new Promise(resolve => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })))

t.test('host-registered @fastify/websocket (its default preClose): the plugin\'s clients get 1001 on app.close()', async (t) => {
  const server = await startServer(t, { before: hostWebsocket() })
  const clients = await Promise.all(['a', 'b', 'a'].map(user => server.connect(user)))
  const host = await hostClient(server)
  const hostClosed = closeOf(host)
  await server.app.close()
  const closes = await Promise.all(clients.map(client => client.closed))
  t.same(closes, [1, 2, 3].map(() => ({ code: 1001, reason: 'server shutting down' })))
  t.equal((await hostClosed).code, 1005, 'the host\'s own sockets are closed as the host\'s preClose decides')
  t.equal(server.app.realtime.stats().connections, 0)
})

t.test('host-registered @fastify/websocket with its own preClose: a code the host chooses is kept', async (t) => {
  const server = await startServer(t, {
    before: hostWebsocket({
      preClose (done) {
        for (const client of this.websocketServer.clients) client.close(4321, 'host says bye')
        done()
      }
    })
  })
  const client = await server.connect('u')
  await server.app.close()
  t.same(await client.closed, { code: 4321, reason: 'host says bye' })
})

t.test('host-registered @fastify/websocket: a client\'s own close is echoed as sent, not turned into 1001', async (t) => {
  const server = await startServer(t, { before: hostWebsocket() })
  const bare = await server.connect('bare')
  bare.ws.close()
  t.equal((await bare.closed).code, 1005, 'a close without a code is answered without one')
  const normal = await server.connect('normal')
  normal.ws.close(1000, 'done')
  t.equal((await normal.closed).code, 1000)
  // the server's own closes keep their codes
  const revoked = await server.connect('revoked')
  await server.app.realtime.disconnectUser('revoked', 'revoked')
  t.equal((await revoked.closed).code, 4500)
})

/** What the server answered in Sec-WebSocket-Protocol to a handshake offering `protocols`. */
async function answeredProtocol (url: string, protocols: string[]): Promise<string | undefined> {
  const ws = new WebSocket(url, protocols)
  ws.on('error', () => {})
  const [response] = await new Promise<[import('node:http').IncomingMessage]>((resolve, reject) => {
    ws.once('upgrade', (res) => resolve([res]))
    ws.once('unexpected-response', () => reject(new Error('the handshake was refused')))
  })
  ws.terminate()
  const answer = response.headers['sec-websocket-protocol']
  return typeof answer === 'string' ? answer : undefined
}

const setUps = {
  'the plugin\'s @fastify/websocket': undefined,
  'a host @fastify/websocket without handleProtocols': hostWebsocket(),
  'a host @fastify/websocket whose handleProtocols picks the first offered': hostWebsocket({
    options: { handleProtocols: (protocols: Set<string>) => protocols.values().next().value ?? false }
  })
}

for (const [name, before] of Object.entries(setUps)) {
  t.test(`${name}: the bearer token is never echoed in Sec-WebSocket-Protocol`, async (t) => {
    const server = before === undefined ? await startServer(t) : await startServer(t, { before })
    const token = server.token('alice')

    // bearer first: ws's default (and a naive handleProtocols) would answer with it
    const first = await answeredProtocol(server.wsUrl, [`bearer.${token}`, 'fastify-realtime.v1'])
    t.equal(first, 'fastify-realtime.v1')
    const second = await answeredProtocol(server.wsUrl, ['fastify-realtime.v1', `bearer.${token}`])
    t.equal(second, 'fastify-realtime.v1')
    const alone = await answeredProtocol(server.wsUrl, [`bearer.${token}`])
    t.equal(alone, undefined, 'offered alone, no subprotocol is answered rather than the token')

    // and the connection itself works
    const client = await openSocket(server.wsUrl, {}, [`bearer.${token}`, 'fastify-realtime.v1'])
    t.teardown(() => client.close())
    t.equal((await client.next('connection.established')).data.user_id, 'alice')
    t.equal(client.ws.protocol, 'fastify-realtime.v1')
  })
}
