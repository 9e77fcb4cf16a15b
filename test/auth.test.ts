import t from 'tap'
import { createSigner } from 'fast-jwt'
import fastifyJwt from '@fastify/jwt'
import { startServer, SECRET, signToken } from './helpers/server.js'
import { openSocket, refusalOf as refusal } from './helpers/client.js'

function base64url (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

t.test('refused tokens get 401 with a JSON body before the upgrade', async (t) => {
  const server = await startServer(t)
  const future = Math.floor(Date.now() / 1000) + 3600
  const tokens: Record<string, string> = {
    'bad signature': createSigner({ key: 'another-secret-entirely-different' })({ sub: 'u1' }),
    garbage: 'this-is-not-a-jwt',
    expired: signToken({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 60 }),
    'no sub': signToken({ name: 'nobody' }),
    'empty sub': signToken({ sub: '' }),
    'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'u1', exp: future })}.`,
    'HS512 instead of the pinned HS256': createSigner({ key: SECRET, algorithm: 'HS512' })({ sub: 'u1' })
  }
  for (const [name, token] of Object.entries(tokens)) {
    const refused = await refusal(openSocket(`${server.wsUrl}/${token}`))
    t.equal(refused.statusCode, 401, name)
    t.match(refused.body, { statusCode: 401, code: 'FST_REALTIME_UNAUTHORIZED', message: String }, `${name}: JSON body`)
  }
  const noToken = await refusal(openSocket(server.wsUrl))
  t.equal(noToken.statusCode, 401, 'no token at all')
  t.equal(server.app.realtime.stats().connections, 0, 'nothing was allocated')
  t.equal(server.app.realtime.stats().connectionsRejected, Object.keys(tokens).length + 1)
})

t.test('a real-size token (well over 100 characters) in the path is accepted', async (t) => {
  const server = await startServer(t, { prefix: '/api/v1' })
  const token = server.token('user-with-claims', { roles: ['reviewer', 'admin'], email: 'someone@example.org', org: 'x'.repeat(300) })
  t.ok(token.length > 400)
  const client = await openSocket(`${server.wsUrl}/${token}`)
  t.teardown(() => client.close())
  const welcome = await client.next('connection.established')
  t.equal(welcome.data.user_id, 'user-with-claims')
  t.match(server.wsUrl, /\/api\/v1\/ws$/, 'registered under the prefix')
})

t.test('a numeric sub is a user id too', async (t) => {
  const server = await startServer(t)
  const client = await openSocket(`${server.wsUrl}/${signToken({ sub: 123 })}`)
  t.teardown(() => client.close())
  t.equal((await client.next('connection.established')).data.user_id, '123')
})

t.test('Authorization: Bearer on the token-less route', async (t) => {
  const server = await startServer(t)
  const client = await openSocket(server.wsUrl, { headers: { authorization: `Bearer ${server.token('bearer-user')}` } })
  t.teardown(() => client.close())
  t.equal((await client.next('connection.established')).data.user_id, 'bearer-user')
})

t.test('subprotocols without a bearer one: the token comes from Authorization', async (t) => {
  const server = await startServer(t)
  const client = await openSocket(server.wsUrl, { headers: { authorization: `Bearer ${server.token('header-user')}` } }, ['fastify-realtime.v1'])
  t.teardown(() => client.close())
  t.equal((await client.next('connection.established')).data.user_id, 'header-user')
  t.equal(client.ws.protocol, 'fastify-realtime.v1')
})

t.test('the bearer subprotocol: the server answers fastify-realtime.v1 and never echoes the token', async (t) => {
  const server = await startServer(t)
  const token = server.token('browser-user')
  const client = await openSocket(server.wsUrl, {}, ['fastify-realtime.v1', `bearer.${token}`])
  t.teardown(() => client.close())
  t.equal(client.ws.protocol, 'fastify-realtime.v1')
  t.equal((await client.next('connection.established')).data.user_id, 'browser-user')
})

t.test('a plain GET on the endpoint answers why a browser upgrade would fail', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 1 } })
  const http = server.wsUrl.replace('ws://', 'http://')
  const ok = await fetch(http, { headers: { authorization: `Bearer ${server.token('p')}` } })
  t.equal(ok.status, 426, 'a good token: upgrade required')
  const bad = await fetch(`${http}/not-a-token`)
  t.equal(bad.status, 401)
  t.match(await bad.json(), { code: 'FST_REALTIME_UNAUTHORIZED' })
  await server.connect('p')
  const full = await fetch(http, { headers: { authorization: `Bearer ${server.token('p')}` } })
  t.equal(full.status, 429, 'the user is at its limit')
})

t.test('authenticate hook: refuses inactive users, maps ids, attaches the user', async (t) => {
  const server = await startServer(t, {
    realtime: {
      authenticate: async (payload) => {
        if (payload.sub === 'banned') return false
        if (payload.sub === 'boom') throw new Error('database down')
        if (payload.sub === 'alias') return { userId: 'real-id', user: { name: 'Real' } }
        return true
      },
      messages: {}
    }
  })
  t.equal((await refusal(openSocket(`${server.wsUrl}/${server.token('banned')}`))).statusCode, 401)
  t.equal((await refusal(openSocket(`${server.wsUrl}/${server.token('boom')}`))).statusCode, 401)
  const client = await openSocket(`${server.wsUrl}/${server.token('alias')}`)
  t.teardown(() => client.close())
  const welcome = await client.next('connection.established')
  t.equal(welcome.data.user_id, 'real-id')
  const [connection] = server.app.realtime.connectionsOf('real-id')
  t.same(connection?.user, { name: 'Real' })
  t.match(server.logs.join(''), /authenticate hook failed/)
})

t.test("uses the host's @fastify/jwt when it is registered first", async (t) => {
  const hostSecret = 'the-host-has-its-own-secret-here'
  const server = await startServer(t, {
    before: async (app) => { await app.register(fastifyJwt, { secret: hostSecret }) },
    realtime: { jwt: 'ignored-because-the-host-has-jwt' }
  })
  const hostToken = server.app.jwt.sign({ sub: 'host-user' })
  const client = await openSocket(`${server.wsUrl}/${hostToken}`)
  t.teardown(() => client.close())
  t.equal((await client.next('connection.established')).data.user_id, 'host-user')
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('u')}`))
  t.equal(refused.statusCode, 401, 'a token of the plugin option secret is not the host secret')
})

t.test('handshakeTimeoutMs bounds a hanging authenticate hook: 503, nothing allocated', async (t) => {
  let release: (() => void) | undefined
  const server = await startServer(t, {
    realtime: {
      handshakeTimeoutMs: 100,
      authenticate: (payload) => payload.sub === 'slow' ? new Promise((resolve) => { release = () => resolve(true) }) : true
    }
  })
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('slow')}`))
  t.equal(refused.statusCode, 503)
  t.match(refused.body, { code: 'FST_REALTIME_HANDSHAKE_TIMEOUT' })
  release?.()
  t.equal(server.app.realtime.stats().connections, 0)
  const fine = await server.connect('quick')
  t.ok(fine)
})

t.test('clockToleranceMs accepts a token that expired within the tolerance, not beyond', async (t) => {
  const server = await startServer(t, { realtime: { clockToleranceMs: 10000 } })
  const now = Math.floor(Date.now() / 1000)
  const client = await openSocket(`${server.wsUrl}/${signToken({ sub: 'late', exp: now - 3 })}`)
  t.teardown(() => client.close())
  t.equal((await client.next('connection.established')).data.user_id, 'late')
  const refused = await refusal(openSocket(`${server.wsUrl}/${signToken({ sub: 'later', exp: now - 60 })}`))
  t.equal(refused.statusCode, 401)
})

t.test('ES256 and RS256 key pairs through the jwt options; an HS256 token made with the public key is refused', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto')
  for (const [algorithm, type, extra] of [['ES256', 'ec', { namedCurve: 'P-256' }], ['RS256', 'rsa', { modulusLength: 2048 }]] as const) {
    const { publicKey, privateKey } = generateKeyPairSync(type as 'ec', { ...extra, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } } as never) as unknown as { publicKey: string, privateKey: string }
    const server = await startServer(t, { realtime: { jwt: { secret: { public: publicKey, private: privateKey } } } })
    const token = createSigner({ key: privateKey, algorithm })({ sub: `${algorithm}-user` })
    const client = await openSocket(`${server.wsUrl}/${token}`)
    t.teardown(() => client.close())
    t.equal((await client.next('connection.established')).data.user_id, `${algorithm}-user`, algorithm)
    // the classic confusion: an HMAC token whose "secret" is the public key
    const forged = createSigner({ key: publicKey, algorithm: 'HS256' })({ sub: 'attacker' })
    t.equal((await refusal(openSocket(`${server.wsUrl}/${forged}`))).statusCode, 401, `${algorithm}: HS256 with the public key is refused`)
  }
})

t.test('a path with more segments after /ws/ is not a token', async (t) => {
  const server = await startServer(t)
  const refused = await refusal(openSocket(`${server.wsUrl}/${server.token('u')}/extra`))
  t.equal(refused.statusCode, 401)
  t.match(refused.body, { message: 'Missing token' })
})
