// The verify options the plugin pins, and the verifier it picks for each kind
// of key: plain functions, tokens signed here with fast-jwt.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { FastifyRequest } from 'fastify'
import type { ResolvedOptions } from '../../lib/options.js'
import { withPinnedAlgorithms, ownVerifier, hostVerifier, isThenable } from '../../lib/jwt.js'
import { systemClock } from '../../lib/clock.js'

type Jwt = NonNullable<ResolvedOptions['jwt']>
const SECRET = 'unit-test-secret-long-enough-for-hs256'
const resolved = (jwt: unknown, clockToleranceMs = 0): ResolvedOptions => ({ jwt, clockToleranceMs }) as unknown as ResolvedOptions
const verifyOf = (jwt: Jwt): Record<string, unknown> => jwt.verify as Record<string, unknown>
const noRequest = {} as FastifyRequest

t.test('a secret pins HS256; a key pair RS256 and ES256: the token\'s header never chooses', async (t) => {
  t.same(verifyOf(withPinnedAlgorithms(resolved({ secret: SECRET }))).algorithms, ['HS256'])
  t.same(verifyOf(withPinnedAlgorithms(resolved({ secret: Buffer.from(SECRET) }))).algorithms, ['HS256'], 'a Buffer is a secret too')
  t.same(verifyOf(withPinnedAlgorithms(resolved({ secret: { public: 'pem', private: 'pem' } }))).algorithms, ['RS256', 'ES256'])
  t.same(verifyOf(withPinnedAlgorithms(resolved({ secret: SECRET, verify: { algorithms: ['HS512'] } }))).algorithms, ['HS512'], 'the host\'s own choice stands')
})

t.test('clockToleranceMs becomes the verify clockTolerance unless the host set one; the input is not changed', async (t) => {
  const given = { secret: SECRET, verify: { maxAge: '1h' } }
  const pinned = withPinnedAlgorithms(resolved(given, 2000))
  t.match(verifyOf(pinned), { clockTolerance: 2000, maxAge: '1h', algorithms: ['HS256'] })
  t.same(given.verify, { maxAge: '1h' }, 'a copy')
  t.notOk('clockTolerance' in verifyOf(withPinnedAlgorithms(resolved({ secret: SECRET }, 0))), 'no tolerance: none added')
  t.equal(verifyOf(withPinnedAlgorithms(resolved({ secret: SECRET, verify: { clockTolerance: 5 } }, 2000))).clockTolerance, 5)
})

t.test('ownVerifier with a static key: one synchronous fast-jwt verifier holding the pinned algorithm', async (t) => {
  const verifier = ownVerifier(withPinnedAlgorithms(resolved({ secret: SECRET })), systemClock)
  t.notOk(verifier.isAsync)
  const token = createSigner({ key: SECRET, algorithm: 'HS256' })({ sub: 'alice' })
  t.match(verifier.verify(token, noRequest), { sub: 'alice' })
  const hs512 = createSigner({ key: SECRET, algorithm: 'HS512' })({ sub: 'alice' })
  t.throws(() => verifier.verify(hs512, noRequest), { code: 'FAST_JWT_INVALID_ALGORITHM' }, 'another algorithm is refused, even with the right secret')
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.`
  t.throws(() => verifier.verify(unsigned, noRequest), 'alg none is refused')
})

t.test('ownVerifier with a key pair verifies with the public half, and refuses an HS256 token signed with it', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const verifier = ownVerifier(withPinnedAlgorithms(resolved({ secret: { public: publicKey, private: privateKey } })), systemClock)
  t.notOk(verifier.isAsync)
  t.match(verifier.verify(createSigner({ key: privateKey, algorithm: 'RS256' })({ sub: 'bob' }), noRequest), { sub: 'bob' })
  // the classic confusion: the public key used as an HMAC secret
  const confused = createSigner({ key: publicKey, algorithm: 'HS256' })({ sub: 'mallory' })
  t.throws(() => verifier.verify(confused, noRequest))
})

t.test('ownVerifier with a key function goes through the request\'s jwtVerify, asynchronously', async (t) => {
  const verifier = ownVerifier(withPinnedAlgorithms(resolved({ secret: async () => SECRET })), systemClock)
  t.equal(verifier.isAsync, true)
  const seen: string[] = []
  const request = {
    jwtVerify (options: { extractToken: () => string }, done: (err: Error | null, payload?: unknown) => void) {
      const token = options.extractToken()
      seen.push(token)
      if (token === 'good') done(null, { sub: 'carol' })
      else done(new Error('bad token'))
    }
  } as unknown as FastifyRequest
  t.same(await verifier.verify('good', request), { sub: 'carol' })
  await t.rejects(Promise.resolve(verifier.verify('bad', request)), /bad token/)
  t.same(seen, ['good', 'bad'], 'the token the handshake found, not one the request would extract')
})

t.test('hostVerifier: app.jwt.verify when it is synchronous, the request otherwise', async (t) => {
  const sync = { verify: (token: string) => { if (token !== 'ok') throw new Error('malformed'); return { sub: 'dave' } } }
  const fromHost = hostVerifier(sync, systemClock)
  t.notOk(fromHost.isAsync)
  t.same(fromHost.verify('ok', noRequest), { sub: 'dave' })
  let probes = 0
  const keyFunction = { verify: (_token: string) => { probes++; return Promise.reject(new Error('malformed')) } }
  const viaRequest = hostVerifier(keyFunction, systemClock)
  t.equal(viaRequest.isAsync, true, 'a verify that answers with a Promise has a key function')
  t.equal(probes, 1, 'probed once, with a malformed token (no key is fetched for it)')
})

t.test('isThenable', async (t) => {
  t.ok(isThenable(Promise.resolve()))
  t.ok(isThenable({ then () {} }))
  for (const value of [null, undefined, 1, 'then', {}, { then: 1 }, () => {}]) t.notOk(isThenable(value), String(value))
})
