import t from 'tap'
import { once } from 'node:events'
import { startServer } from './helpers/server.js'
import { openSocket } from './helpers/client.js'

const fast = { heartbeatIntervalMs: 60, connectionTimeoutMs: 200 }

t.test('a connection that answers no pings and sends nothing is closed (4000) and forgotten', async (t) => {
  const server = await startServer(t, { realtime: fast })
  const client = await openSocket(`${server.wsUrl}/${server.token('silent')}`, { autoPong: false })
  t.teardown(() => client.close())
  await client.next('connection.established')
  // no wait for the ping itself: on a loaded machine the sweep may find the connection past its timeout first
  const { code, reason } = await client.closed
  t.equal(code, 4000)
  t.equal(reason, 'connection timeout')
  t.equal(server.app.realtime.stats().connections, 0)
  t.equal(server.app.realtime.stats().heartbeatTimeouts, 1)
})

t.test('pongs to the server\'s pings keep a quiet connection alive', async (t) => {
  const server = await startServer(t, { realtime: fast })
  const client = await server.connect('quiet-but-alive')
  for (let i = 0; i < 5; i++) await once(client.ws, 'ping') // several timeouts' worth of time
  t.equal(client.ws.readyState, client.ws.OPEN)
  t.equal(server.app.realtime.stats().connections, 1)
})

t.test('messages count as signs of life too', async (t) => {
  const server = await startServer(t, { realtime: fast })
  const client = await openSocket(`${server.wsUrl}/${server.token('chatty')}`, { autoPong: false })
  t.teardown(() => client.close())
  await client.next('connection.established')
  for (let i = 0; i < 8; i++) {
    await client.request({ type: 'heartbeat' }, 'heartbeat.ack')
    await new Promise(resolve => setTimeout(resolve, 50)) // pacing the client's own heartbeats, not waiting for the server
  }
  t.equal(client.ws.readyState, client.ws.OPEN)
})

t.test('a connection is closed with 4001 when its token expires', async (t) => {
  const server = await startServer(t, { realtime: { heartbeatIntervalMs: 100, connectionTimeoutMs: 5000 } })
  const exp = Math.floor(Date.now() / 1000) + 1
  const client = await server.client('short-lived', { claims: { exp } })
  const { code, reason } = await client.closed
  t.equal(code, 4001)
  t.equal(reason, 'token expired')
  t.ok(Date.now() >= exp * 1000, 'not before the expiry')
  t.equal(server.app.realtime.stats().connections, 0)
})

t.test('closeOnTokenExpiry: false keeps the connection past exp', async (t) => {
  const server = await startServer(t, { realtime: { heartbeatIntervalMs: 100, connectionTimeoutMs: 5000, closeOnTokenExpiry: false } })
  const exp = Math.floor(Date.now() / 1000) + 1
  const client = await server.connect('long-lived', { exp })
  while (Date.now() < exp * 1000 + 300) await once(client.ws, 'ping')
  t.equal(client.ws.readyState, client.ws.OPEN)
})
