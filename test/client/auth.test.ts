import t from 'tap'
import { ClientErrorCode, ConnectionState, RealtimeClientError } from '../../lib/client/index.js'
import { BAD_TOKEN, countingWebSocket, createClient, next, nextState, record, startRealtime, token } from './support.js'

t.test('a refused token stops the client at once and reports unauthorized', async (t) => {
  const server = await startRealtime(t)
  const sockets = countingWebSocket()
  const client = createClient(t, { url: server.url, token: BAD_TOKEN, WebSocket: sockets.WebSocket })
  const errors: RealtimeClientError[] = []
  client.on('error', (error) => errors.push(error))
  const reconnects: unknown[] = []
  client.on('reconnect', (scheduled) => reconnects.push(scheduled))

  const error = await client.connect().catch((err: unknown) => err)
  t.type(error, RealtimeClientError)
  t.match(error, { code: ClientErrorCode.unauthorized, statusCode: 401, message: /refused the token/ })
  t.equal(client.state, ConnectionState.closed)
  t.equal(sockets.count(), 1, 'one attempt, no hammering')
  t.same(reconnects, [])
  t.same(errors.map(e => e.code), [ClientErrorCode.unauthorized], 'reported on error too')
  await t.rejects(client.waitForOpen(), { code: ClientErrorCode.unauthorized }, 'waitForOpen knows why it stopped')
  t.equal(server.app.realtime.stats().connectionsRejected, 2, 'the upgrade and the preflight, nothing more')
})

t.test('with a token function, a 401 gets one retry with a fresh token', async (t) => {
  const server = await startRealtime(t)
  const tokens = [BAD_TOKEN, token('gus')]
  let calls = 0
  const client = createClient(t, { url: server.url, token: () => tokens[calls++] ?? BAD_TOKEN })
  const established = await client.connect()
  t.equal(established.user_id, 'gus')
  t.equal(calls, 2)
})

t.test('with a token function that keeps failing, the client stops after the fresh-token retry', async (t) => {
  const server = await startRealtime(t)
  let calls = 0
  const client = createClient(t, { url: server.url, token: async () => { calls++; return BAD_TOKEN } })
  await t.rejects(client.connect(), { code: ClientErrorCode.unauthorized })
  t.equal(calls, 2)
})

t.test('a token function that throws is retried with backoff (the token endpoint may be down with the server)', async (t) => {
  const server = await startRealtime(t)
  let calls = 0
  const client = createClient(t, {
    url: server.url,
    token: () => {
      if (calls++ < 2) throw new Error('token endpoint unreachable')
      return token('gil')
    }
  })
  const reconnects = record(client, 'reconnect')
  const established = await client.connect()
  t.equal(established.user_id, 'gil')
  t.match(reconnects.all.map(([r]) => r.error), [{ code: ClientErrorCode.tokenUnavailable, message: /unreachable/ }, { code: ClientErrorCode.tokenUnavailable }])
})

t.test('a token function that throws UNAUTHORIZED stops the client', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: () => { throw new RealtimeClientError(ClientErrorCode.unauthorized, 'logged out') } })
  await t.rejects(client.connect(), { code: ClientErrorCode.unauthorized, message: 'logged out' })
  t.equal(client.state, ConnectionState.closed)
})

t.test('an expired token (4001) is renewed through the token function and the client reconnects', async (t) => {
  const server = await startRealtime(t, { realtime: { heartbeatIntervalMs: 100, connectionTimeoutMs: 10_000 } })
  let calls = 0
  const client = createClient(t, {
    url: server.url,
    // the first token expires in 1-2 s (at least a whole second after the handshake starts, even on a
    // loaded machine, so the handshake itself never sees it expired); the next one lasts
    token: () => token('hal', { exp: Math.floor(Date.now() / 1000) + (calls++ === 0 ? 2 : 3600) })
  })
  await client.connect()
  const closed = next(client, 'close', () => true, 10_000)
  const reconnect = next(client, 'reconnect', () => true, 10_000)
  t.match((await closed)[0], { code: 4001, willReconnect: true })
  t.equal((await reconnect)[0].delayMs, 0, 'no waiting: only the token was stale')
  await nextState(client, 'open')
  t.equal(calls, 2)
})

t.test('a server-side disconnect (4500) stops the client: no reconnect', async (t) => {
  const server = await startRealtime(t)
  const client = createClient(t, { url: server.url, token: token('ivy') })
  await client.connect()
  const closed = next(client, 'close')
  const stopped = nextState(client, 'closed')
  await server.app.realtime.disconnectUser('ivy', 'account suspended')
  t.match((await closed)[0], { code: 4500, reason: 'account suspended', willReconnect: false })
  t.match(await stopped, { error: { code: ClientErrorCode.closedByServer, closeCode: 4500 } })
})

t.test('without a preflight (fetch: false) a refusal looks transient: retries until maxReconnectAttempts', async (t) => {
  const server = await startRealtime(t)
  const sockets = countingWebSocket()
  const client = createClient(t, { url: server.url, token: BAD_TOKEN, fetch: false, maxReconnectAttempts: 2, WebSocket: sockets.WebSocket })
  await t.rejects(client.connect(), { code: ClientErrorCode.reconnectFailed })
  t.equal(sockets.count(), 3, 'the first attempt and two retries')
})

t.test('a refused origin (403) stops the client', async (t) => {
  const server = await startRealtime(t, { realtime: { allowedOrigins: ['https://app.example'] } })
  class WithOrigin extends (await import('ws')).default {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols, { origin: 'https://evil.example' })
    }
  }
  const fetchWithOrigin: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), origin: 'https://evil.example' } })
  const client = createClient(t, { url: server.url, token: token('jo'), WebSocket: WithOrigin, fetch: fetchWithOrigin })
  await t.rejects(client.connect(), { code: ClientErrorCode.refused, statusCode: 403 })
})
