import t from 'tap'
import { startServer } from './helpers/server.js'
import { openSocket, refusalOf } from './helpers/client.js'
import { rawSocket } from './hardening/support.js'

t.test('no log line ever contains a token, accepted or refused, in the path or in headers', async (t) => {
  const server = await startServer(t, { prefix: '/api/v1' })
  const token = server.token('log-user')
  const client = await openSocket(`${server.wsUrl}/${token}?x=1`)
  await client.next('connection.established')
  await client.request({ type: 'bogus' }, 'error')
  const refusedToken = server.token('x', { exp: 1 })
  await openSocket(`${server.wsUrl}/${refusedToken}`).catch(() => {})
  const headerToken = server.token('header-user')
  const viaHeader = await openSocket(server.wsUrl, { headers: { authorization: `Bearer ${headerToken}` } })
  const protocolToken = server.token('protocol-user')
  const viaProtocol = await openSocket(server.wsUrl, {}, ['fastify-realtime.v1', `bearer.${protocolToken}`])
  await fetch(`${server.wsUrl.replace('ws:', 'http:')}/${token}`)
  await Promise.all([client.close(), viaHeader.close(), viaProtocol.close()])
  await server.app.close()

  const logs = server.logs.join('')
  t.ok(server.logs.length > 5, 'requests were logged at all')
  t.match(logs, /\/api\/v1\/ws\/\[REDACTED\]\?x=1/, 'the URL is logged with the token replaced')
  for (const secret of [token, refusedToken, headerToken, protocolToken]) {
    t.notOk(logs.includes(secret), 'the token is in no log line')
    t.notOk(logs.includes(secret.split('.')[2] ?? 'none'), 'not even its signature')
  }
})

/** The log lines of refusals and closes: each must carry a stable string `code`. */
const REFUSAL_AND_CLOSE_LINES = new Set([
  'websocket handshake refused',
  'connection closed',
  'closing connection: no sign of life',
  'closing connection: token expired',
  'closing slow consumer',
  'closing connection: limit reached after the upgrade'
])

interface LogLine { msg?: string, code?: unknown, closeCode?: unknown }

t.test('every refusal and close line carries a stable code, and never a token', async (t) => {
  const server = await startServer(t, {
    realtime: {
      allowedOrigins: ['https://app.example'],
      maxConnectionsPerUser: 1,
      maxConnections: 4,
      heartbeatIntervalMs: 60,
      // long enough that a loaded machine never times out the clients that do answer pings
      connectionTimeoutMs: 1000,
      handshakeTimeoutMs: 50,
      handshakeRateLimit: false,
      maxBufferedBytes: 1024,
      maxMessageSize: 128 * 1024,
      authenticate: (payload) => payload.sub === 'slow' ? new Promise<never>(() => {}) : payload.sub !== 'banned'
    }
  })
  const limited = await startServer(t, { realtime: { handshakeRateLimit: { max: 1, timeWindowMs: 60000 } } })
  const tokens: string[] = []
  const token = (userId: string, claims?: Record<string, unknown>): string => {
    const signed = server.token(userId, claims)
    tokens.push(signed)
    return signed
  }
  const url = (userId: string, claims?: Record<string, unknown>): string => `${server.wsUrl}/${token(userId, claims)}`

  // refusals: unauthorized (bad token, banned), forbidden origin, timeout, per-user limit, per-IP limit
  await refusalOf(openSocket(`${server.wsUrl}/${token('x', { exp: 1 })}`))
  await refusalOf(openSocket(url('banned')))
  await refusalOf(openSocket(url('alice'), { origin: 'https://evil.example' }))
  await refusalOf(openSocket(url('slow')))
  const alice = await openSocket(url('alice'))
  await refusalOf(openSocket(url('alice')))
  const limitedToken = limited.token('once')
  tokens.push(limitedToken)
  const once = await openSocket(`${limited.wsUrl}/${limitedToken}`)
  await refusalOf(openSocket(`${limited.wsUrl}/${limitedToken}`))
  await once.close()

  // closes: by the client, revoked (4500), binary (1003), heartbeat timeout (4000), token expiry (4001), slow consumer (4008)
  await alice.close()
  const revoked = await openSocket(url('revoked'))
  await revoked.next('connection.established')
  await server.app.realtime.disconnectUser('revoked')
  await revoked.closed
  const binary = await openSocket(url('binary'))
  binary.ws.send(Buffer.from([1]))
  await binary.closed
  const silent = await openSocket(url('silent'), { autoPong: false })
  await silent.closed
  const expiring = await openSocket(url('expiring', { exp: Math.floor(Date.now() / 1000) + 2 }))
  const slow = await openSocket(url('slow-reader'))
  await slow.next('connection.established')
  rawSocket(slow.ws).pause()
  for (let i = 0; i < 2000 && server.app.realtime.connectionsOf('slow-reader').length > 0; i++) {
    await server.app.realtime.sendToUser('slow-reader', { type: 'load', data: { pad: 'p'.repeat(64 * 1024) } })
  }
  rawSocket(slow.ws).resume()
  await slow.closed
  t.equal((await expiring.closed).code, 4001, 'the expiring client was closed for its token')
  await server.app.close()
  await limited.app.close()

  const lines = [...server.logs, ...limited.logs].map(line => JSON.parse(line) as LogLine)
  const ours = lines.filter(line => line.msg !== undefined && REFUSAL_AND_CLOSE_LINES.has(line.msg))
  for (const line of ours) {
    t.ok(typeof line.code === 'string' && /^[A-Z_]+$/.test(line.code), `"${line.msg}" has code ${String(line.code)}`)
  }
  const codes = new Set(ours.map(line => line.code))
  for (const code of [
    'FST_REALTIME_UNAUTHORIZED', 'FST_REALTIME_FORBIDDEN_ORIGIN', 'FST_REALTIME_HANDSHAKE_TIMEOUT', 'FST_REALTIME_USER_CONNECTION_LIMIT',
    'FST_REALTIME_HANDSHAKE_RATE_LIMITED', 'NO_STATUS', 'DISCONNECTED_BY_SERVER', 'UNSUPPORTED_DATA', 'HEARTBEAT_TIMEOUT', 'TOKEN_EXPIRED', 'SLOW_CONSUMER'
  ]) t.ok(codes.has(code), `a line with code ${code}`)
  t.ok(ours.filter(line => line.msg === 'connection closed').every(line => typeof line.closeCode === 'number'), 'close lines carry the close code too')
  const logs = [...server.logs, ...limited.logs].join('')
  for (const secret of tokens) {
    t.notOk(logs.includes(secret), 'the token is in no log line')
    t.notOk(logs.includes(secret.split('.')[2] ?? 'none'), 'not even its signature')
  }
})
