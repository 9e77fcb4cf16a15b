import t from 'tap'
import { startServer } from './helpers/server.js'
import { openSocket } from './helpers/client.js'

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
