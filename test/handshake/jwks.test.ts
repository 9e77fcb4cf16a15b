import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import { createSigner } from 'fast-jwt'
import { startServer, type StartOptions, type TestServer } from '../helpers/server.js'
import { openSocket, refusalOf, type TestClient } from '../helpers/client.js'

// The usual production set-up (Auth0, Cognito, Keycloak): tokens signed by an
// identity provider, public keys fetched from its JWKS by `kid` with get-jwks,
// through a @fastify/jwt key function. The provider here is a second local
// Fastify server whose key set the tests change (rotation).

interface SigningKey { kid: string, alg: 'RS256' | 'ES256', privateKey: KeyObject, publicKey: KeyObject }

function signingKey (kid: string, alg: 'RS256' | 'ES256'): SigningKey {
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, alg, ...pair }
}

interface IdentityProvider {
  issuer: string
  /** The keys the JWKS currently publishes. */
  published: SigningKey[]
  fetches: number
  sign (key: SigningKey, claims: Record<string, unknown>): string
  /** While set, the JWKS endpoint does not answer until released. */
  hang?: Promise<void>
}

async function startIdentityProvider (t: Test, published: SigningKey[]): Promise<IdentityProvider> {
  const app: FastifyInstance = Fastify()
  const provider: IdentityProvider = {
    issuer: '',
    published,
    fetches: 0,
    sign (key, claims) {
      const sign = createSigner({ key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: key.alg, kid: key.kid })
      return sign({ iss: provider.issuer, ...claims })
    }
  }
  app.get('/.well-known/jwks.json', async () => {
    provider.fetches++
    if (provider.hang !== undefined) await provider.hang
    return { keys: provider.published.map(key => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' })) }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  provider.issuer = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`
  return provider
}

/** get-jwks through a key function with @fastify/jwt's documented signature `(request, decodedToken)`. */
function jwksKeyFunction (provider: IdentityProvider) {
  const getJwks = buildGetJwks({ issuersWhitelist: [provider.issuer] })
  return async (_request: FastifyRequest, token: TokenOrHeader): Promise<string> => {
    // with decode: { complete: true } the function gets the whole decoded token
    const { header, payload } = token as { header: { kid?: unknown, alg?: unknown }, payload: { iss?: unknown } }
    return await getJwks.getPublicKey({ kid: String(header.kid), alg: String(header.alg), domain: String(payload.iss) })
  }
}

type SetUp = (provider: IdentityProvider, realtime?: StartOptions['realtime']) => StartOptions

const setUps: Record<string, SetUp> = {
  'a host @fastify/jwt with a key function': (provider, realtime = {}) => ({
    realtime,
    before: async (app) => {
      await app.register(fastifyJwt, {
        decode: { complete: true },
        secret: jwksKeyFunction(provider),
        verify: { algorithms: ['RS256', 'ES256'], allowedIss: provider.issuer }
      })
    }
  }),
  'the plugin\'s own jwt: { secret: fn }': (provider, realtime = {}) => ({
    realtime: { jwt: { decode: { complete: true }, secret: jwksKeyFunction(provider), verify: { allowedIss: provider.issuer } }, ...realtime }
  })
}

async function connect (server: TestServer, token: string, t: Test): Promise<TestClient> {
  const client = await openSocket(`${server.wsUrl}/${token}`)
  t.teardown(() => client.close())
  await client.next('connection.established')
  return client
}

for (const [name, setUp] of Object.entries(setUps)) {
  t.test(`${name}: RS256 and ES256 tokens from the JWKS are accepted`, async (t) => {
    const rsa = signingKey('rsa-1', 'RS256')
    const ec = signingKey('ec-1', 'ES256')
    const provider = await startIdentityProvider(t, [rsa, ec])
    const server = await startServer(t, setUp(provider))

    const alice = await openSocket(`${server.wsUrl}/${provider.sign(rsa, { sub: 'alice' })}`)
    t.teardown(() => alice.close())
    t.equal((await alice.next('connection.established')).data.user_id, 'alice', 'RS256')
    const bob = await openSocket(server.wsUrl, { headers: { authorization: `Bearer ${provider.sign(ec, { sub: 'bob' })}` } })
    t.teardown(() => bob.close())
    t.equal((await bob.next('connection.established')).data.user_id, 'bob', 'ES256, token in the Authorization header')
    const carol = await openSocket(server.wsUrl, {}, ['fastify-realtime.v1', `bearer.${provider.sign(rsa, { sub: 'carol' })}`])
    t.teardown(() => carol.close())
    t.equal((await carol.next('connection.established')).data.user_id, 'carol', 'token in the bearer subprotocol')

    // the preflight a browser client sends answers the same way
    const asked = await fetch(`http://127.0.0.1:${server.port}/ws`, { headers: { authorization: `Bearer ${provider.sign(ec, { sub: 'dave' })}` } })
    t.equal(asked.status, 426, 'a plain GET with a valid token: the handshake would be accepted')
    t.equal(server.app.realtime.stats().connections, 3)
  })

  t.test(`${name}: key rotation by kid`, async (t) => {
    const old = signingKey('2024-key', 'RS256')
    const rotated = signingKey('2025-key', 'ES256')
    const provider = await startIdentityProvider(t, [old])
    const server = await startServer(t, setUp(provider))
    await connect(server, provider.sign(old, { sub: 'before-rotation' }), t)
    const fetchesBefore = provider.fetches

    // the provider publishes a new key; tokens signed with it name a kid the server has not seen
    provider.published = [old, rotated]
    const after = await connect(server, provider.sign(rotated, { sub: 'after-rotation' }), t)
    t.ok(after, 'a token signed with the new key is accepted once the JWKS has it')
    t.ok(provider.fetches > fetchesBefore, 'the unknown kid made the server fetch the key set again')
    await connect(server, provider.sign(old, { sub: 'old-key-still-published' }), t)

    // a kid the key set does not have, and a key the provider never published under a known kid
    const unknown = await refusalOf(openSocket(`${server.wsUrl}/${provider.sign(signingKey('no-such-kid', 'RS256'), { sub: 'mallory' })}`))
    t.equal(unknown.statusCode, 401, 'an unknown kid is refused')
    t.match(unknown.body, { statusCode: 401, code: 'FST_REALTIME_UNAUTHORIZED', error: 'Unauthorized', message: String })
    const forged = await refusalOf(openSocket(`${server.wsUrl}/${provider.sign(signingKey('2025-key', 'ES256'), { sub: 'mallory' })}`))
    t.equal(forged.statusCode, 401, 'a known kid with another key\'s signature is refused')
    t.equal(server.app.realtime.stats().connections, 3)
  })

  t.test(`${name}: 200 garbage tokens are each a 401 with a JSON body; nothing is unhandled`, async (t) => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    t.teardown(() => { process.removeListener('unhandledRejection', onUnhandled) })

    const key = signingKey('k', 'RS256')
    const provider = await startIdentityProvider(t, [key])
    // the flood bound off: every one of these reaches the verification
    const server = await startServer(t, setUp(provider, { failedHandshakeLimit: false }))
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    const valid = provider.sign(key, { sub: 'u' })
    const kinds: Array<(i: number) => string> = [
      (i) => `garbage-${i}`,
      (i) => `${b64({ alg: 'RS256', kid: 'k' })}.${b64({ sub: `u${i}` })}.${'A'.repeat(i % 50)}`,
      (i) => `${b64({ alg: 'none' })}.${b64({ sub: `u${i}`, iss: provider.issuer })}.`,
      (i) => valid.slice(0, -4 - (i % 20)) + 'AAAA',
      (i) => provider.sign(signingKey(`kid-${i % 3}`, 'ES256'), { sub: `u${i}` }),
      (i) => provider.sign(key, { sub: `u${i}`, exp: Math.floor(Date.now() / 1000) - 60 }),
      (i) => provider.sign(key, { name: `no sub ${i}` }),
      (i) => `${b64({ alg: 'RS256', kid: { $ne: i } })}.${b64({ sub: 'x', iss: provider.issuer })}.c2ln`
    ]
    const tokens = Array.from({ length: 200 }, (_, i) => (kinds[i % kinds.length] as (i: number) => string)(i))
    for (let i = 0; i < tokens.length; i += 20) {
      const refusals = await Promise.all(tokens.slice(i, i + 20).map(token => refusalOf(openSocket(`${server.wsUrl}/${token}`))))
      for (const refused of refusals) {
        if (refused.statusCode !== 401 || refused.body.code !== 'FST_REALTIME_UNAUTHORIZED' || typeof refused.body.message !== 'string') {
          t.fail(`refused with ${refused.statusCode} ${JSON.stringify(refused.body)}`)
        }
      }
    }
    // ...and the server is still there for a valid client
    await connect(server, provider.sign(key, { sub: 'still-served' }), t)
    t.same(unhandled, [], 'no unhandled rejection')
    t.equal(server.app.realtime.stats().connectionsRejected, 200)
  })

  t.test(`${name}: a JWKS that does not answer is bounded by handshakeTimeoutMs`, async (t) => {
    const key = signingKey('slow', 'RS256')
    const provider = await startIdentityProvider(t, [key])
    let release = (): void => {}
    provider.hang = new Promise(resolve => { release = resolve })
    t.teardown(() => release())
    const server = await startServer(t, setUp(provider, { handshakeTimeoutMs: 300 }))
    const refused = await refusalOf(openSocket(`${server.wsUrl}/${provider.sign(key, { sub: 'waiting' })}`))
    t.equal(refused.statusCode, 503)
    t.match(refused.body, { code: 'FST_REALTIME_HANDSHAKE_TIMEOUT' })
    release()
    // the late answer is dropped, and the next handshake finds the key
    await connect(server, provider.sign(key, { sub: 'after-the-outage' }), t)
    t.equal(server.app.realtime.stats().connections, 1)
  })
}
