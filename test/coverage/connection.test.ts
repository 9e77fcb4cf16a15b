import t, { type Test } from 'tap'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import WebSocket, { WebSocketServer } from 'ws'
import { Connection } from '../../lib/connection.js'
import { systemClock } from '../../lib/clock.js'

// A Connection over a real ws pair: what it does once it is closed.

async function pair (t: Test): Promise<{ server: WebSocket, client: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await once(wss, 'listening')
  t.teardown(() => new Promise<void>(resolve => wss.close(() => resolve())))
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  client.on('error', () => {})
  t.teardown(() => client.terminate())
  const [server] = await accepted
  server.on('error', () => {})
  await once(client, 'open')
  return { server, client }
}

t.test('send() after close() is gone; a second close() changes nothing', async (t) => {
  const { server, client } = await pair(t)
  const connection = new Connection(server, 'c1', 'u1', { id: 'u1' }, Number.POSITIVE_INFINITY, Fastify().log, systemClock, Date.now())
  const closed = once(client, 'close') as Promise<[number, Buffer]>
  connection.close(4000, 'first')
  connection.close(4001, 'second')
  t.equal(connection.closeCode, 4000, 'the first close stands')
  t.equal(connection.isOpen, false)
  t.equal(connection.send('{"type":"x"}', undefined, 1024, false), 'gone', 'nothing is written to a closed connection')
  const [code, reason] = await closed
  t.equal(code, 4000, 'the client saw the first close only')
  t.equal(reason.toString(), 'first')
})
