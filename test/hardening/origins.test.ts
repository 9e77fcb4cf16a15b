import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { startServer, type TestServer } from '../helpers/server.js'
import { openSocket, refusalOf as refusal, type TestClient } from '../helpers/client.js'

/** Opens a socket with this Origin header (none when undefined), waits for the welcome, closes it. */
async function connectFrom (server: TestServer, user: string, origin?: string): Promise<string> {
  const options = origin === undefined ? {} : { origin }
  const client = await openSocket(`${server.wsUrl}/${server.token(user)}`, options)
  const welcome = await client.next('connection.established')
  await client.close()
  return welcome.data.user_id as string
}

t.test('CSWSH protection: a handshake from an Origin outside allowedOrigins gets 403 before the upgrade', async (t) => {
  const server = await startServer(t, { realtime: { allowedOrigins: ['https://app.example'] } })

  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('victim')}`, { origin: 'https://evil.example' }))
  t.equal(refused.statusCode, 403)
  t.match(refused.body, { statusCode: 403, code: 'FST_REALTIME_FORBIDDEN_ORIGIN', error: 'Forbidden' })
  t.equal(server.app.realtime.stats().connections, 0, 'nothing was allocated for the refused handshake')
  t.equal(server.app.realtime.stats().connectionsRejected, 1)

  // a look-alike is not the allowed origin: the comparison is exact, not a prefix or suffix match
  for (const lookAlike of ['https://app.example.evil.example', 'http://app.example', 'https://app.example:8443', 'null']) {
    const other = await refusal(openSocket(`${server.wsUrl}/${server.token('victim')}`, { origin: lookAlike }))
    t.equal(other.statusCode, 403, `${lookAlike} is refused`)
  }

  t.equal(await connectFrom(server, 'browser-user', 'https://app.example'), 'browser-user', 'the allowed origin connects')
  t.equal(await connectFrom(server, 'server-user'), 'server-user', 'a client without Origin (not a browser) connects')
})

t.test('CSWSH protection: the function form of allowedOrigins decides, and sees the request', async (t) => {
  const seen: Array<{ origin: string | undefined, url: string }> = []
  const server = await startServer(t, {
    realtime: {
      allowedOrigins: (origin, request) => {
        seen.push({ origin, url: request.url })
        return origin !== undefined && /^https:\/\/[a-z]+\.example\.com$/.test(origin)
      }
    }
  })
  t.equal(await connectFrom(server, 'a', 'https://tenant.example.com'), 'a')
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('b')}`, { origin: 'https://example.com.evil.example' }))
  t.equal(refused.statusCode, 403)
  t.match(refused.body, { code: 'FST_REALTIME_FORBIDDEN_ORIGIN' })
  const noOrigin = await refusal(openSocket(`${server.wsUrl}/${server.token('c')}`))
  t.equal(noOrigin.statusCode, 403, 'the function decides about a missing Origin too')
  t.same(seen.map(s => s.origin), ['https://tenant.example.com', 'https://example.com.evil.example', undefined])
})

t.test('the Origin check runs before the token is verified (a forged origin learns nothing about tokens)', async (t) => {
  const server = await startServer(t, { realtime: { allowedOrigins: ['https://app.example'] } })
  const refused = await refusal(openSocket(`${server.wsUrl}/not-a-token`, { origin: 'https://evil.example' }))
  t.equal(refused.statusCode, 403, '403, not 401')
})

t.test("default allowedOrigins '*' accepts any Origin (token auth, no cookies)", async (t) => {
  const server = await startServer(t)
  t.equal(await connectFrom(server, 'x', 'https://evil.example'), 'x')
  t.equal(await connectFrom(server, 'y', 'null'), 'y')
  t.equal(await connectFrom(server, 'z'), 'z')
})

t.test('the upgrade request of a refused origin never reaches the WebSocket server', async (t) => {
  const server = await startServer(t, { realtime: { allowedOrigins: ['https://app.example'] } })
  let upgrades = 0
  const onHeaders = (_headers: string[], _request: IncomingMessage): void => { upgrades++ }
  server.app.websocketServer.on('headers', onHeaders)
  t.teardown(() => server.app.websocketServer.off('headers', onHeaders))
  await refusal(openSocket(`${server.wsUrl}/${server.token('v')}`, { origin: 'https://evil.example' }))
  t.equal(upgrades, 0, 'no 101 was written')
  await connectFrom(server, 'ok', 'https://app.example')
  t.equal(upgrades, 1)
})
