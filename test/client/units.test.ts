// The client's pure parts (option checks, URL and backoff helpers, the
// emitter) and replies the real plugin never sends, from a bare ws server.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws'
import { ClientErrorCode, preflight, RealtimeClient, resolveWebSocketUrl, toHttpUrl, type RealtimeClientOptions, type WebSocketConstructor } from '../../lib/client/index.js'
import { backoffCeiling } from '../../lib/client/backoff.js'
import { TypedEmitter } from '../../lib/client/emitter.js'
import { createClient, FakeClock, NodeWebSocket, record, startRealtime, token, type Teardown } from './support.js'

t.test('option checks name the option', async (t) => {
  const base = { url: 'ws://x/ws', token: 'a', WebSocket: NodeWebSocket }
  t.throws(() => new RealtimeClient(null as unknown as RealtimeClientOptions), { name: 'TypeError', message: /options are required/ })
  t.throws(() => new RealtimeClient({ ...base, backoff: { multiplier: 0.5 } }), /backoff.multiplier must be at least 1/)
  t.throws(() => new RealtimeClient({ ...base, pingIntervalMs: 0 }), /pingIntervalMs must be a positive number/, 'zero is refused where it means nothing')
  t.throws(() => new RealtimeClient({ ...base, stableAfterMs: Number.NaN }), /stableAfterMs must be a non-negative number/)
  t.throws(() => new RealtimeClient({ ...base, connectTimeoutMs: '5' as unknown as number }), /connectTimeoutMs must be a positive number/)
  t.doesNotThrow(() => new RealtimeClient({ ...base, maxQueueSize: 0, stableAfterMs: 0, pongTimeoutMs: 1 }).close(), 'zero is allowed where it means "none"')
})

t.test('URLs: a path resolves against the page, anything else is refused', async (t) => {
  t.equal(toHttpUrl('http://a/ws'), 'http://a/ws', 'an http URL is left as is')
  t.throws(() => resolveWebSocketUrl('/ws'), { message: 'url must be a ws://, wss://, http:// or https:// URL' }, 'no page: a path means nothing')
  const page = globalThis as { location?: { protocol: string, host: string } }
  page.location = { protocol: 'https:', host: 'app.example:8443' }
  t.teardown(() => { delete page.location })
  t.equal(resolveWebSocketUrl('/ws/'), 'wss://app.example:8443/ws')
  page.location = { protocol: 'http:', host: 'localhost:3000' }
  t.equal(resolveWebSocketUrl('/realtime'), 'ws://localhost:3000/realtime')
  t.throws(() => resolveWebSocketUrl('ws'), /or a path starting with \//, 'on a page, the message mentions the path form')
})

t.test('the backoff ceiling stays at the cap when the power overflows', async (t) => {
  const options = { initialDelayMs: 1e300, multiplier: 2, maxDelayMs: 30_000 }
  t.equal(backoffCeiling(1_000, options), 30_000)
  t.equal(backoffCeiling(-3, { initialDelayMs: 100, multiplier: 2, maxDelayMs: 30_000 }), 100, 'a negative attempt counts as the first')
})

t.test('preflight: an answer whose body cannot be read is classified by its status', async (t) => {
  const fetch = async () => ({ status: 503, headers: { get: () => null }, json: async () => { throw new SyntaxError('Unexpected token <') } })
  t.match(await preflight({ fetch, url: 'ws://a/ws', token: 't', nowMs: 0 }), { kind: 'busy', statusCode: 503, message: 'HTTP 503' })
})

t.test('the emitter: off for an event nobody listens to, and its count', async (t) => {
  const emitter = new TypedEmitter<{ ping: [n: number] }>(() => {})
  t.equal(emitter.listenerCount('ping'), 0)
  emitter.off('ping', () => {})
  t.equal(emitter.listenerCount('ping'), 0)
})

t.test('waitForOpen with an aborted signal rejects with its reason, without connecting', async (t) => {
  const client = new RealtimeClient({ url: 'ws://127.0.0.1:1/ws', token: 'x', WebSocket: NodeWebSocket })
  const reason = new Error('page left')
  await t.rejects(client.waitForOpen({ signal: AbortSignal.abort(reason) }), reason)
  t.equal(client.state, 'closed')
})

t.test('off() removes a listener: only the one kept hears the states', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('olga') })
  const removed: string[] = []
  const kept: string[] = []
  const listener = (change: { state: string }): void => { removed.push(change.state) }
  client.on('state', listener)
  client.on('state', (change) => kept.push(change.state))
  client.off('state', listener)
  await client.connect()
  t.same(kept, ['connecting', 'open'])
  t.same(removed, [])
})

/** A bare ws server that welcomes the client and answers its frames with `reply`. */
async function olderServer (t: Teardown, reply: (frame: { type: string, id?: string, data?: Record<string, unknown> }, socket: ServerSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  await new Promise(resolve => wss.once('listening', resolve))
  wss.on('connection', (socket) => {
    socket.send(JSON.stringify({ type: 'connection.established', data: { connection_id: 'c1', user_id: 'u', heartbeat_interval_ms: 0 } }))
    socket.on('message', (raw) => reply(JSON.parse(raw.toString()), socket))
  })
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`
}

t.test('a confirmation answers the request whose id it echoes, and only that one', async (t) => {
  const url = await olderServer(t, (frame, socket) => {
    if (frame.type !== 'subscribe') return
    // first a confirmation without an id (as for a subscribe sent with send()), one with another kind's id, then the answer
    socket.send(JSON.stringify({ type: 'subscription.confirmed', data: { events: ['a'] } }))
    socket.send(JSON.stringify({ type: 'unsubscription.confirmed', data: { request_id: frame.id } }))
    socket.send(JSON.stringify({ type: 'subscription.confirmed', data: { events: ['a'], request_id: frame.id, subscriptions: ['answer'] } }))
  })
  const client = createClient(t, { url, token: 'x', fetch: false })
  const errors = record(client, 'error')
  await client.connect()
  t.same((await client.subscribe(['a'])).subscriptions, ['answer'], 'settled by the confirmation that echoes its id')
  t.same(client.subscriptions, ['a'])
  t.same(errors.all, [])
})

t.test('a request the server never answers times out; a restore that times out is reported as an error', async (t) => {
  const url = await olderServer(t, () => {})
  const clock = new FakeClock()
  const client = createClient(t, { url, token: 'x', fetch: false, clock, requestTimeoutMs: 500, subscriptions: ['restored'] })
  const errors = record(client, 'error')
  await client.connect()
  const asked = client.subscribe(['asked'])
  // both frames are on the wire once the server sees them; then the timers run out
  clock.advance(500)
  await t.rejects(asked, { code: ClientErrorCode.timeout, message: /no answer to subscribe within 500 ms/ })
  t.match((await errors.next())[0], { code: ClientErrorCode.timeout, message: /no answer to subscribe within 500 ms/ }, 'the restore has nobody awaiting it')
})

t.test('a WebSocket that cannot be created stops the client with CONNECTION_REFUSED', async (t) => {
  class Unbuildable {
    constructor () { throw new SyntaxError('The subprotocol is invalid') }
  }
  const client = createClient(t, { url: 'ws://127.0.0.1:1/ws', token: 'x', fetch: false, WebSocket: Unbuildable as unknown as WebSocketConstructor })
  await t.rejects(client.connect(), { code: ClientErrorCode.refused, message: /could not open a WebSocket: The subprotocol is invalid/ })
  t.equal(client.state, 'closed')
})

t.test('a request in flight when the connection drops is sent again on the next connection', async (t) => {
  let connections = 0
  const url = await olderServer(t, (frame, socket) => {
    if (frame.type !== 'subscribe') return
    if (connections++ === 0) { socket.terminate(); return }
    socket.send(JSON.stringify({ type: 'subscription.confirmed', data: { events: ['late'], request_id: frame.id } }))
  })
  const client = createClient(t, { url, token: 'x', fetch: false, backoff: { initialDelayMs: 0, maxDelayMs: 0 } })
  await client.connect()
  t.same((await client.subscribe(['late'])).events, ['late'])
  t.equal(connections, 2, 'answered on the second connection')
})

t.test('subscribe with neither a name, a list nor an object rejects with TypeError', async (t) => {
  const client = new RealtimeClient({ url: 'ws://127.0.0.1:1/ws', token: 'x', WebSocket: NodeWebSocket })
  await t.rejects(client.subscribe(null as unknown as string), { name: 'TypeError', message: /subscribe takes an event/ })
  await t.rejects(client.subscribe(42 as unknown as string), TypeError)
})

t.test('a token function that returns no token, or throws a non-Error, is retried and says why', async (t) => {
  const answers: Array<() => string> = [() => '', () => { throw 'endpoint down' as unknown as Error }]
  const client = createClient(t, { url: 'ws://127.0.0.1:1/ws', token: () => (answers.shift() ?? (() => ''))(), fetch: false, backoff: { initialDelayMs: 0, maxDelayMs: 0 } })
  const retries = record(client, 'reconnect')
  client.connect()
  t.match((await retries.next())[0], { error: { code: ClientErrorCode.tokenUnavailable, message: 'could not get a token: the token function returned no token' } })
  t.match((await retries.next())[0], { error: { code: ClientErrorCode.tokenUnavailable, message: 'could not get a token: endpoint down' } })
})

t.test('a pong without a pingId is ignored: the ping is settled by its own pong', async (t) => {
  const url = await olderServer(t, (frame, socket) => {
    if (frame.type !== 'ping') return
    socket.send(JSON.stringify({ type: 'pong', data: {} }))
    socket.send(JSON.stringify({ type: 'pong', data: { pingId: (frame.data as { pingId: string }).pingId } }))
  })
  const client = createClient(t, { url, token: 'x', fetch: false })
  const errors = record(client, 'error')
  await client.connect()
  t.type(await client.ping(), 'number')
  t.same(errors.all, [])
})
