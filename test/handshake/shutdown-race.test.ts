import t, { type Test } from 'tap'
import fastifyWebsocket from '@fastify/websocket'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { startServer, type StartOptions, type TestServer } from '../helpers/server.js'
import { openSocket, refusalOf, type Refusal } from '../helpers/client.js'
import { rawSocket } from '../hardening/support.js'

// A handshake that is still in progress when app.close() begins must never
// become a connection: it is refused with 503, or, if it was already past
// the checks, its socket is closed with 1001 before anything is sent.

interface Gate { entered: Promise<void>, release: () => void, wait: () => Promise<void> }

/** A point a handshake stops at until the test lets it go. */
function gate (): Gate {
  let enter = (): void => {}
  let release = (): void => {}
  const entered = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the handshake never reached the gate')), 5000)
    enter = () => { clearTimeout(timer); resolve() }
  })
  const released = new Promise<void>(resolve => { release = resolve })
  return { entered, release, wait: async () => { enter(); await released } }
}

/**
 * Starts close() with a drain that lasts: one client stops reading (so it never
 * answers the close and the drain runs its full grace), another shows when
 * the plugin's close has begun. Resolves once it has.
 */
interface Closing { isClosed: () => boolean, closed: Promise<void> }

async function startClosing (server: TestServer, t: Test): Promise<Closing> {
  const stubborn = await server.connect('stubborn')
  rawSocket(stubborn.ws).pause()
  const witness = await server.connect('witness')
  let isClosed = false
  const closed = server.app.close().then(() => { isClosed = true })
  t.equal((await witness.closed).code, 1001, 'close() has begun: connected clients are told 1001')
  return { isClosed: () => isClosed, closed }
}

/**
 * A handshake held at `late` while close() begins, then let go: resolves
 * with its refusal and the close in progress.
 */
async function refusedDuringDrain (server: TestServer, t: Test, late: Gate): Promise<{ refused: Refusal, closing: Closing }> {
  const refusal = refusalOf(openSocket(`${server.wsUrl}/${server.token('late')}`))
  await late.entered
  const closing = await startClosing(server, t)
  late.release()
  return { refused: await refusal, closing }
}

const withHostWebsocket: StartOptions['before'] = async (app: FastifyInstance) => {
  await app.register(fastifyWebsocket)
}

for (const [name, before] of Object.entries({ 'the plugin\'s @fastify/websocket': undefined, 'a host-registered @fastify/websocket': withHostWebsocket })) {
  t.test(`${name}: a handshake whose authenticate resolves during the drain gets 503`, async (t) => {
    const late = gate()
    const options: StartOptions = {
      realtime: { authenticate: async (payload) => { if (payload.sub === 'late') await late.wait(); return true } }
    }
    if (before !== undefined) options.before = before
    const server = await startServer(t, options)
    const { refused, closing } = await refusedDuringDrain(server, t, late)
    t.equal(refused.statusCode, 503)
    t.match(refused.body, { statusCode: 503, code: 'FST_REALTIME_SERVER_CLOSING', error: 'Service Unavailable' })
    t.notOk(closing.isClosed(), 'refused during the drain, not after close() had finished')
    t.equal(server.app.realtime.stats().connections, 0)
    await closing.closed
  })
}

t.test('a JWT verification that resolves during the drain (a key function) gets 503', async (t) => {
  const late = gate()
  const server = await startServer(t, {
    before: async (app) => {
      // a host @fastify/jwt with a key function that waits, like a JWKS fetch
      await app.register(fastifyJwt, {
        secret: async (_request: FastifyRequest, token: TokenOrHeader) => {
          if ((token as { payload?: { sub?: string } }).payload?.sub === 'late') await late.wait()
          return 'test-secret-that-is-long-enough-for-hs256'
        },
        decode: { complete: true },
        verify: { algorithms: ['HS256'] }
      })
    }
  })
  const { refused, closing } = await refusedDuringDrain(server, t, late)
  t.equal(refused.statusCode, 503)
  t.match(refused.body, { code: 'FST_REALTIME_SERVER_CLOSING' })
  t.notOk(closing.isClosed())
  await closing.closed
})

t.test('a request already past the handshake when close() begins is closed with 1001 before anything is sent', async (t) => {
  const late = gate()
  const server = await startServer(t, {
    before: (app) => {
      // a host hook between the plugin's checks (onRequest) and the upgrade (the handler)
      app.addHook('preValidation', async (request) => {
        if (request.headers['x-test-late'] === '1') await late.wait()
      })
    }
  })
  const opening = openSocket(`${server.wsUrl}/${server.token('late')}`, { headers: { 'x-test-late': '1' } })
  await late.entered
  const closing = await startClosing(server, t)
  late.release()
  const client = await opening
  const { code } = await client.closed
  t.equal(code, 1001, 'going away')
  t.same(client.received, [], 'no connection.established, nothing at all')
  t.notOk(closing.isClosed())
  t.equal(server.app.realtime.stats().connections, 0)
  await closing.closed
})

t.test('a cluster slot claimed during the drain is given back, and the handshake gets 503', async (t) => {
  const late = gate()
  const released: string[] = []
  const adapter = {
    start: async () => {},
    publish: async () => {},
    close: async () => {},
    acquireConnection: async (userId: string) => { if (userId === 'late') await late.wait(); return true },
    releaseConnection: async (userId: string) => { released.push(userId) }
  }
  const server = await startServer(t, { realtime: { adapter } })
  const refusal = refusalOf(openSocket(`${server.wsUrl}/${server.token('late')}`))
  await late.entered
  const closing = await startClosing(server, t)
  released.length = 0 // the stubborn and witness connections gave theirs back when close() began
  late.release()
  const refused = await refusal
  t.equal(refused.statusCode, 503)
  t.match(refused.body, { code: 'FST_REALTIME_SERVER_CLOSING' })
  t.same(released, ['late'], 'the slot the late handshake claimed was released')
  await closing.closed
})
