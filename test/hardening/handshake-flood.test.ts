import t from 'tap'
import { startServer, type TestServer } from '../helpers/server.js'
import { connect, expectRefused, type HandshakeRefusal, type RealtimeTestClient } from '../../lib/testing/index.js'

// Real sockets: injectWS has no client IP, and the flood bound is per address. Linux
// routes all of 127.0.0.0/8 to loopback, so `localAddress` gives a second client IP.

// the kit's clients close with the app, in startServer's teardown
function connectFrom (server: TestServer, user: string, localAddress: string): Promise<RealtimeTestClient> {
  return server.client(user, { localAddress })
}

/** A handshake with `token` in the path (garbage or signed), from `localAddress` when given. */
function attempt (server: TestServer, token: string, localAddress?: string): Promise<RealtimeTestClient> {
  return connect(server.app, { token }, { auth: 'path', ...(localAddress === undefined ? {} : { localAddress }) })
}

t.test('handshake flood protection: past its budget of failures bad attempts from an address get 429, its valid tokens and other addresses still connect', async (t) => {
  const server = await startServer(t, { realtime: { failedHandshakeLimit: { max: 5, timeWindowMs: 60000 } } })
  // successes are never limited
  await connectFrom(server, 'a1', '127.0.0.1')
  await connectFrom(server, 'a2', '127.0.0.1')
  await connectFrom(server, 'a3', '127.0.0.1')
  // the first failure opens the address's window: 5 failures, then 429
  for (let i = 0; i < 5; i++) {
    const bad = await expectRefused(attempt(server, `garbage-${i}`, '127.0.0.1'))
    t.equal(bad.statusCode, 401)
  }
  const limited = await expectRefused(attempt(server, `garbage-over`, '127.0.0.1'))
  t.equal(limited.statusCode, 429, 'past the budget a bad token is answered 429, not 401')
  t.match(limited.body, { statusCode: 429, code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED', error: 'Too Many Requests', message: /retry in/ })
  // a plain GET (how a browser client asks why) is answered the same way, with Retry-After
  const asked = await fetch(`http://127.0.0.1:${server.port}/ws`, { headers: { authorization: 'Bearer garbage-asked' } })
  t.equal(asked.status, 429)
  t.ok(Number(asked.headers.get('retry-after')) > 0, 'Retry-After says when to try again')
  t.match(await asked.json(), { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' })

  const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => expectRefused(attempt(server, `garbage-flood-${i}`, '127.0.0.1'))))
  t.same([...new Set(flood.map(r => r.statusCode))], [429], 'every further bad attempt from that address is refused')
  t.equal(server.app.realtime.stats().connections, 3, 'nothing was allocated for the refused attempts')
  // a valid token from the same address (a NAT neighbour of the flooder) still gets in: a static key's check costs microseconds
  await connectFrom(server, 'a4', '127.0.0.1')

  // ...and it does not spill over to other clients
  const other = await connectFrom(server, 'b1', '127.0.0.2')
  t.ok(other.isOpen, 'another address connects')
  t.equal(server.app.realtime.stats().connections, 5)
})

t.test('handshake flood protection: the opt-in handshakeRateLimit counts every attempt, and the address may connect again once its window has passed', async (t) => {
  const server = await startServer(t, { realtime: { handshakeRateLimit: { max: 2, timeWindowMs: 300 } } })
  await connectFrom(server, 'x', '127.0.0.3')
  await connectFrom(server, 'y', '127.0.0.3')
  const limited = await expectRefused(attempt(server, server.token('z'), '127.0.0.3'))
  t.equal(limited.statusCode, 429)
  t.match(limited.body, { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' })
  const deadline = Date.now() + 3000
  let accepted: RealtimeTestClient | undefined
  while (accepted === undefined && Date.now() < deadline) {
    try {
      accepted = await attempt(server, server.token('z'), '127.0.0.3')
    } catch (err) {
      t.equal((err as HandshakeRefusal).statusCode, 429, 'refused only by the limit while the window lasts')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  t.ok(accepted, 'accepted again after the window')
  if (accepted !== undefined) await accepted.close()
})

t.test('lock-out check: a user at its connection limit, retrying hard, never stops other users', async (t) => {
  // the default options: limits are not failures, so the retries never trip the flood bound
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 2 } })
  await connectFrom(server, 'alice', '127.0.0.1')
  await connectFrom(server, 'alice', '127.0.0.1')
  const retries = await Promise.all(Array.from({ length: 30 }, () => expectRefused(attempt(server, server.token('alice'), '127.0.0.1'))))
  t.same([...new Set(retries.map(r => r.body.code))], ['FST_REALTIME_USER_CONNECTION_LIMIT'])
  t.equal(server.app.realtime.stats().connections, 2, 'the refused attempts hold no slot')

  // other users, from the same IP and from another one, are not affected
  const bob = await connectFrom(server, 'bob', '127.0.0.1')
  const carol = await connectFrom(server, 'carol', '127.0.0.2')
  t.ok(await bob.ping(), 'bob is answered')
  t.ok(await carol.ping(), 'carol is answered')
  t.equal(server.app.realtime.stats().users, 3)
})

t.test('lock-out check: a burst of concurrent handshakes by one user never takes more than its share of the server', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 3, maxConnections: 10 } })
  // concurrent handshakes may race past the pre-upgrade check; the post-upgrade check closes the excess with 4029
  // before connection.established, so the kit's connect() rejects for those (as for the refused ones)
  const attempts = await Promise.allSettled(Array.from({ length: 12 }, () => server.client('hog')))
  const stillOpen = attempts.map(a => a.status === 'fulfilled' && a.value.isOpen ? 'open' : (a.status === 'rejected' ? String((a.reason as { code?: unknown }).code) : 'closed'))
  t.ok(stillOpen.filter(s => s === 'open').length <= 3, `at most 3 of hog's connections are open (${stillOpen.join(',')})`)
  t.ok(server.app.realtime.stats().connections <= 3)
  const others = []
  for (let i = 0; i < 7; i++) others.push(await connectFrom(server, `user-${i}`, '127.0.0.2'))
  t.equal(others.length, 7, 'the other users fill the rest of the server')
})
