import t from 'tap'
import { startServer, type TestServer } from '../helpers/server.js'
import { openSocket, refusalOf as refusal, type Refusal, type TestClient } from '../helpers/client.js'
import type { Teardown } from '../helpers/teardown.js'

// Real sockets: injectWS has no client IP, and the flood bound is per address. Linux
// routes all of 127.0.0.0/8 to loopback, so `localAddress` gives a second client IP.

async function connectFrom (server: TestServer, user: string, localAddress: string, t: Teardown): Promise<TestClient> {
  const client = await openSocket(`${server.wsUrl}/${server.token(user)}`, { localAddress })
  t.teardown(() => client.close())
  await client.next('connection.established')
  return client
}

t.test('handshake flood protection: past its budget of failures bad attempts from an address get 429, its valid tokens and other addresses still connect', async (t) => {
  const server = await startServer(t, { realtime: { failedHandshakeLimit: { max: 5, timeWindowMs: 60000 } } })
  // successes are never limited
  await connectFrom(server, 'a1', '127.0.0.1', t)
  await connectFrom(server, 'a2', '127.0.0.1', t)
  await connectFrom(server, 'a3', '127.0.0.1', t)
  // the first failure opens the address's window: 5 failures, then 429
  for (let i = 0; i < 5; i++) {
    const bad = await refusal(openSocket(`${server.wsUrl}/garbage-${i}`, { localAddress: '127.0.0.1' }))
    t.equal(bad.statusCode, 401)
  }
  const limited = await refusal(openSocket(`${server.wsUrl}/garbage-over`, { localAddress: '127.0.0.1' }))
  t.equal(limited.statusCode, 429, 'past the budget a bad token is answered 429, not 401')
  t.match(limited.body, { statusCode: 429, code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED', error: 'Too Many Requests', message: /retry in/ })
  // a plain GET (how a browser client asks why) is answered the same way, with Retry-After
  const asked = await fetch(`http://127.0.0.1:${server.port}/ws`, { headers: { authorization: 'Bearer garbage-asked' } })
  t.equal(asked.status, 429)
  t.ok(Number(asked.headers.get('retry-after')) > 0, 'Retry-After says when to try again')
  t.match(await asked.json(), { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' })

  const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => refusal(openSocket(`${server.wsUrl}/garbage-flood-${i}`, { localAddress: '127.0.0.1' }))))
  t.same([...new Set(flood.map(r => r.statusCode))], [429], 'every further bad attempt from that address is refused')
  t.equal(server.app.realtime.stats().connections, 3, 'nothing was allocated for the refused attempts')
  // a valid token from the same address (a NAT neighbour of the flooder) still gets in: a static key's check costs microseconds
  await connectFrom(server, 'a4', '127.0.0.1', t)

  // ...and it does not spill over to other clients
  const other = await connectFrom(server, 'b1', '127.0.0.2', t)
  t.equal(other.ws.readyState, other.ws.OPEN, 'another address connects')
  t.equal(server.app.realtime.stats().connections, 5)
})

t.test('handshake flood protection: the opt-in handshakeRateLimit counts every attempt, and the address may connect again once its window has passed', async (t) => {
  const server = await startServer(t, { realtime: { handshakeRateLimit: { max: 2, timeWindowMs: 300 } } })
  await connectFrom(server, 'x', '127.0.0.3', t)
  await connectFrom(server, 'y', '127.0.0.3', t)
  const limited = await refusal(openSocket(`${server.wsUrl}/${server.token('z')}`, { localAddress: '127.0.0.3' }))
  t.equal(limited.statusCode, 429)
  t.match(limited.body, { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' })
  const deadline = Date.now() + 3000
  let accepted: TestClient | undefined
  while (accepted === undefined && Date.now() < deadline) {
    try {
      accepted = await openSocket(`${server.wsUrl}/${server.token('z')}`, { localAddress: '127.0.0.3' })
    } catch (err) {
      t.equal((err as Refusal).statusCode, 429, 'refused only by the limit while the window lasts')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  t.ok(accepted, 'accepted again after the window')
  if (accepted !== undefined) await accepted.close()
})

t.test('lock-out check: a user at its connection limit, retrying hard, never stops other users', async (t) => {
  // the default options: limits are not failures, so the retries never trip the flood bound
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 2 } })
  await connectFrom(server, 'alice', '127.0.0.1', t)
  await connectFrom(server, 'alice', '127.0.0.1', t)
  const retries = await Promise.all(Array.from({ length: 30 }, () => refusal(openSocket(`${server.wsUrl}/${server.token('alice')}`, { localAddress: '127.0.0.1' }))))
  t.same([...new Set(retries.map(r => r.body.code))], ['FST_REALTIME_USER_CONNECTION_LIMIT'])
  t.equal(server.app.realtime.stats().connections, 2, 'the refused attempts hold no slot')

  // other users, from the same IP and from another one, are not affected
  const bob = await connectFrom(server, 'bob', '127.0.0.1', t)
  const carol = await connectFrom(server, 'carol', '127.0.0.2', t)
  t.equal((await bob.request({ type: 'ping', data: { pingId: 'b' } }, 'pong')).data.pingId, 'b')
  t.equal((await carol.request({ type: 'ping', data: { pingId: 'c' } }, 'pong')).data.pingId, 'c')
  t.equal(server.app.realtime.stats().users, 3)
})

t.test('lock-out check: a burst of concurrent handshakes by one user never takes more than its share of the server', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 3, maxConnections: 10 } })
  const attempts = await Promise.allSettled(Array.from({ length: 12 }, () => openSocket(`${server.wsUrl}/${server.token('hog')}`)))
  const opened = attempts.filter((a): a is PromiseFulfilledResult<TestClient> => a.status === 'fulfilled').map(a => a.value)
  t.teardown(() => Promise.all(opened.map(c => c.close())))
  // concurrent handshakes may race past the pre-upgrade check; the post-upgrade check closes the excess with 4029
  const stillOpen = await Promise.all(opened.map(async (client) => {
    const first = await Promise.race([client.next('connection.established', 2000).then(() => 'open'), client.closed.then(c => c.code)])
    return first
  }))
  t.ok(stillOpen.filter(s => s === 'open').length <= 3, `at most 3 of hog's connections are open (${stillOpen.join(',')})`)
  t.ok(server.app.realtime.stats().connections <= 3)
  const others = []
  for (let i = 0; i < 7; i++) others.push(await connectFrom(server, `user-${i}`, '127.0.0.2', t))
  t.equal(others.length, 7, 'the other users fill the rest of the server')
})
