import t from 'tap'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import {
  classifyStatus, ClientErrorCode, parseRetryAfter, preflight, RealtimeClient, resolveWebSocketUrl, toHttpUrl
} from '../../lib/client/index.js'
import { TypedEmitter } from '../../lib/client/emitter.js'
import { createClient, FakeClock, next, NodeWebSocket, record, startRealtime, token } from './support.js'

t.test('preflight verdicts from statuses, Retry-After in seconds or as a date', async (t) => {
  t.match(classifyStatus(401, 'bad', undefined), { kind: 'unauthorized' })
  t.match(classifyStatus(403, 'origin', undefined), { kind: 'refused' })
  t.match(classifyStatus(404, 'path', undefined), { kind: 'refused' })
  t.match(classifyStatus(429, 'slow down', 2000), { kind: 'busy', retryAfterMs: 2000 })
  t.match(classifyStatus(503, 'full', undefined), { kind: 'busy' })
  t.match(classifyStatus(426, 'would accept', undefined), { kind: 'transient' })
  t.match(classifyStatus(502, 'proxy', undefined), { kind: 'transient' })
  t.equal(parseRetryAfter('3', 0), 3000)
  t.equal(parseRetryAfter(null, 0), undefined)
  t.equal(parseRetryAfter('soon', 0), undefined)
  t.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000)
  t.equal(toHttpUrl('wss://a/ws'), 'https://a/ws')
  t.equal(toHttpUrl('ws://a/ws'), 'http://a/ws')
  t.equal(resolveWebSocketUrl('https://a/ws/'), 'wss://a/ws')

  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => async () => ({
    status, headers: { get: (name: string) => headers[name] ?? null }, json: async () => body
  })
  t.match(await preflight({ fetch: answer(429, { message: 'Too many' }, { 'retry-after': '5' }), url: 'ws://a/ws', token: 't', nowMs: 0 }),
    { kind: 'busy', statusCode: 429, message: 'Too many', retryAfterMs: 5000 })
  t.match(await preflight({ fetch: answer(502, 'not json'), url: 'ws://a/ws', token: 't', nowMs: 0 }), { kind: 'transient', message: 'HTTP 502' })
  t.match(await preflight({ fetch: async () => { throw new TypeError('fetch failed') }, url: 'ws://a/ws', token: 't', nowMs: 0 }), { kind: 'unreachable' })
})

t.test('the emitter: once, off, and a throwing listener does not stop the others', async (t) => {
  const failures: unknown[] = []
  const emitter = new TypedEmitter<{ ping: [n: number] }>((err) => failures.push(err))
  const seen: number[] = []
  emitter.once('ping', (n) => seen.push(n))
  const listener = (n: number): void => { seen.push(n * 10) }
  emitter.on('ping', () => { throw new Error('boom') })
  emitter.on('ping', listener)
  emitter.emit('ping', 1)
  emitter.off('ping', listener)
  emitter.emit('ping', 2)
  t.same(seen, [1, 10])
  t.equal(failures.length, 2)
  t.equal(emitter.listenerCount('ping'), 1)
})

t.test('the seed\'s token-in-path form works too (auth: path)', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('uma'), auth: 'path', autoConnect: true })
  const established = await client.waitForOpen()
  t.equal(established.user_id, 'uma')
})

t.test('a server that accepts the socket but never says connection.established: connect timeout, then retry', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  await new Promise(resolve => wss.once('listening', resolve))
  const clock = new FakeClock()
  const client = createClient(t, { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, token: 'x', clock, fetch: false, connectTimeoutMs: 1000 })
  const connected = new Promise(resolve => wss.once('connection', resolve))
  client.connect()
  await connected
  const retry = next(client, 'reconnect')
  clock.advance(1000)
  t.match((await retry)[0], { error: { code: ClientErrorCode.connectionLost, message: /no connection.established within 1000 ms/ } })
})

t.test('an unreadable frame is reported, not thrown', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  await new Promise(resolve => wss.once('listening', resolve))
  wss.on('connection', (socket) => { socket.send('not json'); socket.send(JSON.stringify({ no: 'type' })); socket.send(Buffer.from([1, 2])) })
  const client = createClient(t, { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, token: 'x', fetch: false })
  const errors = record(client, 'error')
  client.connect()
  for (let i = 0; i < 3; i++) t.match((await errors.next())[0], { code: ClientErrorCode.invalidFrame })
})

t.test('reconnect: false stops at the first loss', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('vic'), reconnect: false })
  await client.connect()
  const stopped = next(client, 'state', (change) => change.state === 'closed')
  await server.close()
  t.match((await stopped)[0], { error: { code: ClientErrorCode.connectionLost, closeCode: 1001 } })
})

t.test('a client without autoConnect does nothing until connect()', async (t) => {
  const client = new RealtimeClient({ url: 'ws://127.0.0.1:1/ws', token: 'x', WebSocket: NodeWebSocket })
  t.equal(client.state, 'closed')
  t.same(client.subscriptions, [])
  t.equal(client.connection, undefined)
  client.close()
})
