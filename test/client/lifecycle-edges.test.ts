// Edges of the connection's life that the ordinary flows do not reach: a
// second connect(), a close while the token is on its way, a repeated
// welcome, a socket that is closing when a ping is due, and the preflight
// without fetch or AbortController. Real sockets (the real plugin or the
// scripted server).
import t from 'tap'
import WebSocket from 'ws'
import * as clientExports from '../../lib/client/index.js'
import { ClientErrorCode, type FetchLike, type WebSocketConstructor } from '../../lib/client/index.js'
import { startFakeServer } from './fake-server.js'
import { BAD_TOKEN, countingWebSocket, createClient, FakeClock, freePort, next, nextState, record, startRealtime, token } from './support.js'

t.test('connect() while connecting or open opens no second socket', async (t) => {
  const server = await startRealtime(t)
  const counting = countingWebSocket()
  const client = createClient(t, { url: server.url, token: token('ada'), WebSocket: counting.WebSocket })
  const first = client.connect()
  const second = client.connect()
  t.same(await second, await first)
  await client.connect()
  t.equal(counting.count(), 1)
})

t.test('close() while the token function is still working: no socket is opened', async (t) => {
  const server = await startRealtime(t)
  const counting = countingWebSocket()
  let give: ((value: string) => void) | undefined
  const client = createClient(t, {
    url: server.url,
    WebSocket: counting.WebSocket,
    token: () => new Promise<string>(resolve => { give = resolve })
  })
  const connecting = client.connect()
  client.close()
  give?.(token('ada'))
  await t.rejects(connecting, { code: ClientErrorCode.closed })
  // the token's continuation has run once a later macrotask runs
  await new Promise(resolve => setImmediate(resolve))
  t.equal(counting.count(), 0)
  t.equal(client.state, 'closed')
})

t.test('a second connection.established on an open connection is ignored', async (t) => {
  const fake = await startFakeServer(t)
  const client = createClient(t, { url: fake.url, token: 'tok', fetch: false })
  const opens = record(client, 'open')
  const connecting = client.connect()
  const connection = await fake.nextConnection()
  connection.establish()
  await connecting
  connection.establish()
  // sentinel: a message after the second welcome
  connection.send('system.notification', { message: 'marker', level: 'info' })
  await next(client, 'message', (message) => message.type === 'system.notification')
  t.equal(opens.all.length, 1)
})

t.test('a stop reports how many queued messages it discarded', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: BAD_TOKEN })
  const connecting = client.connect()
  const closed = nextState(client, 'closed')
  t.equal(client.send('heartbeat', {}), false, 'queued while connecting')
  await t.rejects(connecting, { code: ClientErrorCode.unauthorized })
  t.match(await closed, { state: 'closed', discardedMessages: 1, error: { code: ClientErrorCode.unauthorized } })
})

t.test('auth path: the preflight asks at the URL with the token in it', async (t) => {
  const server = await startRealtime(t)
  const urls: string[] = []
  const fetch: FetchLike = async (url, init) => { urls.push(url); return globalThis.fetch(url, init) }
  const client = createClient(t, { url: server.url, token: BAD_TOKEN, auth: 'path', fetch })
  await t.rejects(client.connect(), { code: ClientErrorCode.unauthorized, statusCode: 401 })
  t.same(urls, [`http://127.0.0.1:${server.port}/ws/${BAD_TOKEN}`])
})

t.test('a URL with a query keeps it; the inbox position is added with &', async (t) => {
  const fake = await startFakeServer(t)
  const client = createClient(t, { url: `${fake.url}?tenant=7`, token: 'tok', fetch: false, positions: { inbox: { epoch: 'E', offset: 3 } } })
  const connecting = client.connect()
  const connection = await fake.nextConnection()
  t.equal(connection.url, '/ws?tenant=7&inbox=E:3')
  connection.establish({ epoch: 'E', offset: 3 })
  await connecting
})

t.test('a welcome without heartbeat_interval_ms: the client pings every 30 s', async (t) => {
  const fake = await startFakeServer(t)
  const clock = new FakeClock()
  const client = createClient(t, { url: fake.url, token: 'tok', fetch: false, clock })
  const connecting = client.connect()
  const connection = await fake.nextConnection()
  connection.send('connection.established', { connection_id: 'c', user_id: 'u', server_time: new Date().toISOString(), features: [], connection_timeout_ms: 1 })
  await connecting
  clock.advance(29_999)
  client.send('heartbeat', {})
  t.same((await connection.next()).type, 'heartbeat', 'sentinel: no ping before 30 s')
  clock.advance(1)
  t.match(await connection.next(), { type: 'ping', data: { pingId: /^hb\d+$/ } })
})

t.test('a socket that is closing when a ping is due is not pinged', async (t) => {
  const fake = await startFakeServer(t)
  const clock = new FakeClock()
  let isClosing = false
  class Closing extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols)
      Object.defineProperty(this, 'readyState', { get: () => isClosing ? WebSocket.CLOSING : Reflect.get(WebSocket.prototype, 'readyState', this) })
    }
  }
  const client = createClient(t, { url: fake.url, token: 'tok', fetch: false, clock, pingIntervalMs: 1000, WebSocket: Closing as unknown as WebSocketConstructor })
  const connecting = client.connect()
  const connection = await fake.nextConnection()
  connection.establish()
  await connecting
  isClosing = true
  clock.advance(1000)
  isClosing = false
  client.send('heartbeat', {})
  t.same((await connection.next()).type, 'heartbeat', 'sentinel: no ping was written')
})

t.test('no fetch anywhere: a failed attempt is not explained, only retried', async (t) => {
  const port = await freePort()
  const globalFetch = globalThis.fetch
  Reflect.deleteProperty(globalThis, 'fetch')
  t.teardown(() => { globalThis.fetch = globalFetch })
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: 'tok', reconnect: false })
  globalThis.fetch = globalFetch
  await t.rejects(client.connect(), { code: ClientErrorCode.connectionLost, message: /^connection attempt failed/ })
})

t.test('no AbortController: the preflight goes without a signal', async (t) => {
  const port = await freePort()
  const Controller = globalThis.AbortController
  Reflect.deleteProperty(globalThis, 'AbortController')
  t.teardown(() => { globalThis.AbortController = Controller })
  const inits: Array<Parameters<FetchLike>[1]> = []
  const fetch: FetchLike = async (_url, init) => {
    inits.push(init)
    return { status: 403, headers: { get: () => null } }
  }
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: 'tok', fetch })
  await t.rejects(client.connect(), { code: ClientErrorCode.refused, statusCode: 403 })
  globalThis.AbortController = Controller
  t.equal(inits.length, 1)
  t.notOk('signal' in (inits[0] as object))
})

t.test('an error listener that throws: the error surfaces in a microtask', async (t) => {
  const fake = await startFakeServer(t)
  const original = globalThis.queueMicrotask
  const queued: Array<() => void> = []
  globalThis.queueMicrotask = (callback) => { queued.push(callback) }
  t.teardown(() => { globalThis.queueMicrotask = original })
  const client = createClient(t, { url: fake.url, token: 'tok', fetch: false })
  const failure = new Error('listener bug')
  client.on('error', () => { throw failure })
  const connecting = client.connect()
  const connection = await fake.nextConnection()
  connection.socket.send('not json')
  connection.establish()
  await connecting
  globalThis.queueMicrotask = original
  t.equal(queued.length, 1)
  t.throws(() => (queued[0] as () => void)(), failure)
})

t.test('every runtime export of the client entry is defined', async (t) => {
  for (const [name, value] of Object.entries(clientExports)) t.not(value, undefined, name)
  t.equal(clientExports.SUBPROTOCOL, 'fastify-realtime.v1')
})

t.test('close() while the preflight is out: its late verdict is ignored (no error, no reconnect)', async (t) => {
  const port = await freePort()
  let asked = (): void => {}
  const preflightAsked = new Promise<void>(resolve => { asked = resolve })
  let answer = (): void => {}
  const answered = new Promise<void>(resolve => { answer = resolve })
  const fetch: FetchLike = async () => {
    asked()
    await answered
    return { status: 403, headers: { get: () => null } }
  }
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: 'tok', fetch })
  const errors: unknown[] = []
  const states: string[] = []
  client.on('error', (err) => { errors.push(err) })
  client.on('state', (change) => { states.push(change.state) })
  const connecting = client.connect()
  await preflightAsked
  client.close()
  await t.rejects(connecting, { code: ClientErrorCode.closed })
  const statesAtClose = [...states]
  answer()
  // the verdict settles in microtasks only: one turn of the event loop sees them all done
  await new Promise<void>(resolve => setImmediate(resolve))
  t.same(errors, [], 'the 403 verdict of the abandoned attempt is not reported')
  t.same(states, statesAtClose, 'no state change after close()')
  t.equal(client.state, 'closed')
})
