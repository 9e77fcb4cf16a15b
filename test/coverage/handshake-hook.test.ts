import t from 'tap'
import { EventEmitter } from 'node:events'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createHandshakeHook, requestIdentityStore, type IdentityStore } from '../../lib/handshake.js'
import { resolveOptions, type RealtimeOptions } from '../../lib/options.js'
import { FailedHandshakes } from '../../lib/failed-handshakes.js'
import { memoryAdapter } from '../../lib/adapters/memory.js'
import type { JwtVerifier } from '../../lib/jwt.js'
import type { RealtimeNode } from '../../lib/realtime-node.js'

// The handshake hook on its own, with a node whose state the test sets: the
// refusals that only a race reaches over real sockets (close() begun, the
// server filled up while an authenticate hook was awaited), verifiers that
// answer oddly, and a request with no address.

interface Answer { statusCode: number, body: { code?: string, message?: string } }
interface FakeNode { isClosing: boolean, size: number, refused: string[] }

function fakeNode (): FakeNode & { node: RealtimeNode } {
  const state: FakeNode = { isClosing: false, size: 0, refused: [] }
  const node = {
    get isClosing () { return state.isClosing },
    registry: { get size () { return state.size }, countForUser: () => 0 },
    load: { isOverloaded: () => false },
    counters: { connectionsRejected: 0 },
    handshakes: { refused: (_request: unknown, refusal: { code?: string }) => { state.refused.push(refusal.code ?? '') } }
  }
  return Object.assign(state, { node: node as unknown as RealtimeNode })
}

function fakeRequest (ip?: string): { request: FastifyRequest, debug: unknown[] } {
  const debug: unknown[] = []
  const request = {
    params: {},
    headers: { authorization: 'Bearer a-token' },
    raw: { headers: {}, socket: new EventEmitter() },
    ip,
    ws: true,
    log: { debug: (fields: unknown) => { debug.push(fields) }, warn () {} }
  }
  return { request: request as unknown as FastifyRequest, debug }
}

/** Runs the hook once: resolves with the refusal it answered, or 'admitted'. */
function run (hook: ReturnType<typeof createHandshakeHook>, request: FastifyRequest): Promise<Answer | 'admitted'> {
  return new Promise((resolve, reject) => {
    let statusCode = 0
    const reply = {
      code (code: number) { statusCode = code; return reply },
      header () { return reply },
      send (body: Answer['body']) { resolve({ statusCode, body }) }
    }
    hook(request, reply as unknown as FastifyReply, (err?: Error) => { if (err === undefined) resolve('admitted'); else reject(err) })
  })
}

function hookWith (node: RealtimeNode, verify: JwtVerifier['verify'], extra: Partial<RealtimeOptions> = {}, failures?: FailedHandshakes): { hook: ReturnType<typeof createHandshakeHook>, identities: IdentityStore } {
  const options = resolveOptions({ jwt: 'a-secret-of-at-least-32-characters!!', ...extra })
  const identities = requestIdentityStore({ decorateRequest () {} })
  const verifier: JwtVerifier = { verify, isAsync: false }
  return { hook: createHandshakeHook({ options, node, adapter: memoryAdapter(), verifier: () => verifier, identities, failures }), identities }
}

const valid = (): Record<string, unknown> => ({ sub: 'alice' })

t.test('close() begun before the token is looked at: 503 FST_REALTIME_SERVER_CLOSING', async (t) => {
  const state = fakeNode()
  state.isClosing = true
  const { hook } = hookWith(state.node, valid)
  t.match(await run(hook, fakeRequest('127.0.0.1').request), { statusCode: 503, body: { code: 'FST_REALTIME_SERVER_CLOSING' } })
})

t.test('close() begun while the authenticate hook was awaited: 503', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, valid, { authenticate: async () => { state.isClosing = true; return { userId: 'alice', user: {} } } })
  t.match(await run(hook, fakeRequest('127.0.0.1').request), { statusCode: 503, body: { code: 'FST_REALTIME_SERVER_CLOSING' } })
})

t.test('close() begun while a key function verified the token, before the authenticate hook: 503', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, () => { state.isClosing = true; return Promise.resolve({ sub: 'alice' }) }, { authenticate: async () => ({ userId: 'alice', user: {} }) })
  t.match(await run(hook, fakeRequest('127.0.0.1').request), { statusCode: 503, body: { code: 'FST_REALTIME_SERVER_CLOSING' } })
})

t.test('a key function\'s error with a code of its own (not a JWT one): the fixed text, the code logged at debug, cut to 64', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, () => { throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' + 'x'.repeat(100) }) })
  const { request, debug } = fakeRequest('127.0.0.1')
  t.match(await run(hook, request), { statusCode: 401, body: { message: 'Authentication failed: the token could not be verified' } })
  t.same(debug[0], { code: 'ECONNREFUSED' + 'x'.repeat(52) })
})

t.test('the server filled up while the authenticate hook was awaited: 503 FST_REALTIME_SERVER_FULL', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, valid, { maxConnections: 1, authenticate: async () => { state.size = 1; return { userId: 'alice', user: {} } } })
  t.match(await run(hook, fakeRequest('127.0.0.1').request), { statusCode: 503, body: { code: 'FST_REALTIME_SERVER_FULL' } })
})

t.test('a verifier that answers with no object (a string payload): 401 Invalid token', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, () => 'just a string')
  t.match(await run(hook, fakeRequest('127.0.0.1').request), { statusCode: 401, body: { message: 'Invalid token' } })
})

t.test('a key function\'s own error without a code: a fixed 401 text, logged at debug with no code', async (t) => {
  const state = fakeNode()
  const { hook } = hookWith(state.node, () => { throw new Error('getaddrinfo ENOTFOUND jwks.internal') })
  const { request, debug } = fakeRequest('127.0.0.1')
  t.match(await run(hook, request), { statusCode: 401, body: { message: 'Authentication failed: the token could not be verified' } })
  t.same(debug[0], { code: undefined }, 'the debug line names no code, and not the internal host')
  t.notMatch(JSON.stringify(debug), /jwks\.internal/)
})

t.test('a request with no address (injectWS) is refused without touching the failed-handshake bound', async (t) => {
  const state = fakeNode()
  const failures = new FailedHandshakes({ max: 1, windowMs: 60_000 })
  const { hook } = hookWith(state.node, () => { throw Object.assign(new Error('bad'), { code: 'FAST_JWT_MALFORMED' }) }, {}, failures)
  for (let i = 0; i < 3; i++) t.match(await run(hook, fakeRequest(undefined).request), { statusCode: 401 }, 'a 401 each time, never a 429')
  t.equal(failures.trackedAddresses, 0, 'no address was recorded')
  t.match(await run(hook, fakeRequest('').request), { statusCode: 401 }, 'an empty address is no address either')
  t.equal(failures.trackedAddresses, 0)
})
