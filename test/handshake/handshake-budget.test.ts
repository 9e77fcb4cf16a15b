import t from 'tap'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { createSigner } from 'fast-jwt'
import { startServer, SECRET, type TestServer } from '../helpers/server.js'
import { openSocket, refusalOf, type Refusal, type TestClient } from '../helpers/client.js'

// The handshake flood bound counts FAILED handshakes per client address.
// Successful ones are never limited: behind a proxy without trustProxy, or a
// company NAT, every user shares one address. Real sockets throughout:
// injectWS has no client IP. Linux routes all of 127.0.0.0/8 to loopback, so
// `localAddress` gives each test its own client address.

const forged = createSigner({ key: 'not-the-server-secret-at-all-00000000' })

async function openFrom (server: TestServer, token: string, localAddress: string): Promise<TestClient> {
  const client = await openSocket(`${server.wsUrl}/${token}`, { localAddress })
  await client.next('connection.established')
  return client
}

/** Opens a connection, checks it works, closes it: the handshake counted as a success. */
async function connectAndLeave (server: TestServer, user: string, localAddress: string): Promise<void> {
  const client = await openFrom(server, server.token(user), localAddress)
  await client.close()
}

/** A plain GET from `localAddress` (fetch cannot choose its source address). */
function getFrom (url: string, localAddress: string, headers: Record<string, string>): Promise<{ status: number, headers: IncomingHttpHeaders, body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(body) as Record<string, unknown> }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('300 valid connections opened one after another from one address are all accepted with the default options', async (t) => {
  const server = await startServer(t)
  let accepted = 0
  for (let i = 0; i < 300; i++) {
    await connectAndLeave(server, `user-${i}`, '127.0.0.1')
    accepted++
  }
  t.equal(accepted, 300)
  t.equal(server.app.realtime.stats().connectionsRejected, 0, 'none refused')
})

t.test('with a key function (JWKS), a flood of 2,000 bad tokens from one address is bounded before any token work; other addresses are served meanwhile', async (t) => {
  let verifications = 0
  // a key function that counts how often a token's signature is checked
  const server = await startServer(t, {
    realtime: { jwt: { secret: async () => { verifications++; return SECRET }, verify: { algorithms: ['HS256'] } } }
  })
  const statuses = new Map<number, number>()
  let served: TestClient | undefined
  const attacker = '127.0.0.2'
  const concurrency = 20
  for (let sent = 0; sent < 2000; sent += concurrency) {
    const batch = Array.from({ length: concurrency }, (_, i) => refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: `mallory-${sent + i}` })}`, { localAddress: attacker })))
    if (sent === 1000) served = await openFrom(server, server.token('alice'), '127.0.0.3')
    for (const refused of await Promise.all(batch)) statuses.set(refused.statusCode, (statuses.get(refused.statusCode) ?? 0) + 1)
  }
  const unauthorized = statuses.get(401) ?? 0
  const limited = statuses.get(429) ?? 0
  t.same([...statuses.keys()].sort(), [401, 429], 'each attempt is a 401 or a 429')
  t.ok(unauthorized >= 100 && unauthorized <= 100 + concurrency, `${unauthorized} verified and refused: the default budget of 100 (plus the attempts in flight when it ran out)`)
  t.equal(limited, 2000 - unauthorized, `${limited} answered 429 before any token work`)
  t.equal(verifications, unauthorized + 1, 'the 429s cost no verification (the +1 is alice)')

  // another address got in during the flood, and is served
  t.ok(served, 'a valid client from another address connected during the flood')
  t.equal((await (served as TestClient).request({ type: 'ping', data: { pingId: 'p' } }, 'pong')).data.pingId, 'p')
  await (served as TestClient).close()

  // with a key function the flooding address waits for its window, whatever token it brings: no key fetch for it
  const sameAddress = await refusalOf(openSocket(`${server.wsUrl}/${server.token('bob')}`, { localAddress: attacker }))
  t.match(sameAddress, { statusCode: 429, body: { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED', error: 'Too Many Requests', message: /retry in \d+ seconds/ } })
  const asked = await getFrom(`http://127.0.0.1:${server.port}/ws`, attacker, { authorization: `Bearer ${server.token('bob')}` })
  t.equal(asked.status, 429, 'the preflight GET is answered the same way')
  const retryAfter = Number(asked.headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After: ${retryAfter} s, within the 60 s window`)
})

t.test('with a static key (the default), a flood of 2,000 bad tokens from one address is answered 429 past the budget, and a valid client from that same address still gets in', async (t) => {
  const server = await startServer(t)
  const statuses = new Map<number, number>()
  const flooder = '127.0.0.4'
  const concurrency = 20
  let neighbour: TestClient | undefined
  for (let sent = 0; sent < 2000; sent += concurrency) {
    const batch = Array.from({ length: concurrency }, (_, i) => refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: `mallory-${sent + i}` })}`, { localAddress: flooder })))
    // a colleague behind the same NAT, mid-flood
    if (sent === 1000) neighbour = await openFrom(server, server.token('colleague'), flooder)
    for (const refused of await Promise.all(batch)) statuses.set(refused.statusCode, (statuses.get(refused.statusCode) ?? 0) + 1)
  }
  const unauthorized = statuses.get(401) ?? 0
  t.same([...statuses.keys()].sort(), [401, 429], 'each bad attempt is a 401 or a 429')
  t.ok(unauthorized >= 100 && unauthorized <= 101 + concurrency, `${unauthorized} answered 401: the budget of 100 (+1 for the colleague's success, plus those in flight)`)
  t.equal(statuses.get(429), 2000 - unauthorized, 'every further failure is a 429 with Retry-After')
  t.ok(neighbour, 'a valid token from the flooding address got in during the flood')
  t.equal((await (neighbour as TestClient).request({ type: 'ping', data: { pingId: 'n' } }, 'pong')).data.pingId, 'n')
  await (neighbour as TestClient).close()
  const after = await refusalOf(openSocket(`${server.wsUrl}/garbage-after`, { localAddress: flooder }))
  t.match(after, { statusCode: 429, body: { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' } }, 'and its bad tokens still get 429')
  const late = await openFrom(server, server.token('late'), flooder)
  t.ok(late, 'valid tokens keep getting in')
  await late.close()
})

t.test('once its window has passed, a flooding address is answered 401 again (not 429)', async (t) => {
  const server = await startServer(t, { realtime: { failedHandshakeLimit: { max: 20, timeWindowMs: 500 } } })
  const address = '127.0.0.8'
  const refusals: Refusal[] = []
  for (let i = 0; i < 60; i++) refusals.push(await refusalOf(openSocket(`${server.wsUrl}/garbage-${i}`, { localAddress: address })))
  t.same(refusals.map(r => r.statusCode), [...Array(20).fill(401), ...Array(40).fill(429)], '20 failures, then 429')
  const deadline = Date.now() + 5000
  let status = 429
  while (status === 429 && Date.now() < deadline) {
    status = (await refusalOf(openSocket(`${server.wsUrl}/garbage-again`, { localAddress: address }))).statusCode
    // a retry loop with a pause, like a client honouring Retry-After
    if (status === 429) await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(status, 401, 'a new window: verified and refused as usual')
})

t.test('an address whose handshakes mostly succeed (a proxy, a NAT) is never refused for the failures among them', async (t) => {
  const server = await startServer(t)
  const address = '127.0.0.5'
  const refused: number[] = []
  let accepted = 0
  // 300 users connect, 150 clients with stale tokens fail: more failures than the budget of 100 alone
  for (let i = 0; i < 450; i++) {
    if (i % 3 === 2) {
      refused.push((await refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: `stale-${i}` })}`, { localAddress: address }))).statusCode)
    } else {
      await connectAndLeave(server, `user-${i}`, address)
      accepted++
    }
  }
  t.equal(accepted, 300)
  t.same([...new Set(refused)], [401], 'every stale token is a 401, none is a 429')
  t.equal(refused.length, 150)
})

t.test('refused origins count as failures too', async (t) => {
  const server = await startServer(t, { realtime: { allowedOrigins: ['https://app.example'], failedHandshakeLimit: { max: 5, timeWindowMs: 60000 } } })
  const address = '127.0.0.6'
  for (let i = 0; i < 5; i++) {
    const refused = await refusalOf(openSocket(`${server.wsUrl}/${server.token('u')}`, { localAddress: address, headers: { origin: 'https://evil.example' } }))
    t.equal(refused.statusCode, 403)
  }
  const limited = await refusalOf(openSocket(`${server.wsUrl}/${server.token('u')}`, { localAddress: address, headers: { origin: 'https://evil.example' } }))
  t.match(limited, { statusCode: 429, body: { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' } }, 'the next refused origin is a 429')
  const allowed = await openFrom(server, server.token('u'), address).catch(() => undefined)
  t.ok(allowed, 'an allowed origin with a valid token still gets in')
  await allowed?.close()
})

t.test('a limit is not a failure: a user retrying at its connection limit does not lock its address out', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 1, failedHandshakeLimit: { max: 5, timeWindowMs: 60000 } } })
  const address = '127.0.0.7'
  const first = await openFrom(server, server.token('busy'), address)
  t.teardown(() => first.close())
  for (let i = 0; i < 10; i++) {
    const refused = await refusalOf(openSocket(`${server.wsUrl}/${server.token('busy')}`, { localAddress: address }))
    t.equal(refused.body.code, 'FST_REALTIME_USER_CONNECTION_LIMIT')
  }
  const other = await openFrom(server, server.token('neighbour'), address)
  t.ok(other, 'another user from the same address still connects')
  await other.close()
})

t.test('the opt-in handshakeRateLimit still limits every attempt when a host wants it', async (t) => {
  const server = await startServer(t, { realtime: { handshakeRateLimit: { max: 3, timeWindowMs: 60000 } } })
  for (let i = 0; i < 3; i++) await connectAndLeave(server, `u${i}`, '127.0.0.8')
  const limited = await refusalOf(openSocket(`${server.wsUrl}/${server.token('u3')}`, { localAddress: '127.0.0.8' }))
  t.match(limited, { statusCode: 429, body: { code: 'FST_REALTIME_HANDSHAKE_RATE_LIMITED' } })
})

t.test('a slow handshake that completes after its address failed meanwhile still buys that address one more failure', async (t) => {
  let entered: () => void = () => {}
  const hookEntered = new Promise<void>((resolve) => { entered = resolve })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const server = await startServer(t, {
    realtime: {
      failedHandshakeLimit: { max: 1, windowMs: 60000 },
      authenticate: async (payload) => {
        if (payload.sub === 'slow') {
          entered()
          await gate
        }
        return { userId: payload.sub, user: undefined }
      }
    }
  })
  const address = '127.0.0.9'
  // no address has failed yet when the slow handshake starts
  const slow = openFrom(server, server.token('slow'), address)
  await hookEntered
  const first = await refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: 'm1' })}`, { localAddress: address }))
  t.equal(first.statusCode, 401, 'the failure that uses up the budget of 1')
  release()
  const client = await slow
  t.teardown(() => client.close())
  const second = await refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: 'm2' })}`, { localAddress: address }))
  t.equal(second.statusCode, 401, 'the completed slow handshake bought one more failure')
  const third = await refusalOf(openSocket(`${server.wsUrl}/${forged({ sub: 'm3' })}`, { localAddress: address }))
  t.equal(third.statusCode, 429, 'then the budget is used up')
})
