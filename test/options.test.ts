import t from 'tap'
import { once } from 'node:events'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import realtime, { resolveOptions, DEFAULT_EVENTS, memoryAdapter } from '../lib/index.js'

t.test('defaults are the seed\'s', async (t) => {
  const options = resolveOptions({ jwt: 's' })
  t.match(options, {
    path: '/ws',
    maxConnectionsPerUser: 3,
    maxConnections: 1000,
    rateLimit: { max: 100, windowMs: 60000 },
    heartbeatIntervalMs: 30000,
    connectionTimeoutMs: 60000,
    maxMessageSize: 65536,
    compression: false,
    slowConsumer: 'close'
  })
  t.same([...options.events], [...DEFAULT_EVENTS])
  t.equal(options.events.size, 12)
  t.ok(Object.isFrozen(options))
})

t.test('a bad option fails with an error naming the option and the rule', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ maxConnectionsPerUser: 0 }, /maxConnectionsPerUser .*(>=|greater).*1/],
    [{ maxConnections: 'lots' }, /maxConnections .*number|maxConnections .*integer/i],
    [{ rateLimit: { max: -1 } }, /rateLimit\.max/],
    [{ rateLimit: { max: 5, perSecond: true } }, /rateLimit/],
    [{ heartbeatIntervalMs: 1.5 }, /heartbeatIntervalMs .*integer/i],
    [{ heartbeatIntervalMs: 5000, connectionTimeoutMs: 4000 }, /connectionTimeoutMs \(4000\) must be greater than heartbeatIntervalMs \(5000\)/],
    [{ maxMessageSize: 10 }, /maxMessageSize/],
    [{ events: ['a', 'a'] }, /events/],
    [{ maxConectionsPerUser: 3 }, /maxConectionsPerUser is not an option/],
    [{ authenticate: 'yes' }, /authenticate must be a function/],
    [{ messages: { ping: { schema: Type.Object({}), handler () {} } } }, /messages\.ping is a protocol message type/],
    [{ messages: { 'x.y': { handler () {} } } }, /messages\.x\.y must be \{ schema/],
    [{ messages: 5 }, /messages must be an object/],
    [{ adapter: {} }, /adapter must implement/],
    [{ allowedOrigins: 5 }, /allowedOrigins must be/],
    [{ jwt: '' }, /jwt must not be an empty secret/],
    [{ jwt: 42 }, /jwt must be a secret string/]
  ]
  for (const [input, expected] of cases) {
    const attempt = (): unknown => resolveOptions({ jwt: 'secret', ...input } as never)
    t.throws(attempt, { code: 'FST_REALTIME_OPTIONS_INVALID', message: expected }, JSON.stringify(Object.keys(input)))
  }
})

t.test('every failing option is listed at once', async (t) => {
  t.throws(() => resolveOptions({ jwt: 's', maxConnections: 0, maxMessageSize: 1 }), { message: /maxConnections.*; .*maxMessageSize|maxMessageSize.*; .*maxConnections/ })
})

t.test('register fails with a bad option; ready rejects', async (t) => {
  const app = Fastify()
  app.register(realtime, { jwt: 's', maxConnections: -5 })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_REALTIME_OPTIONS_INVALID', message: /maxConnections/ })
})

t.test('jwt is required unless the host registered @fastify/jwt', async (t) => {
  const app = Fastify()
  app.register(realtime, {})
  await t.rejects(async () => { await app.ready() }, { code: 'FST_REALTIME_OPTIONS_INVALID', message: /jwt is required/ })
})

t.test('allowed option shapes', async (t) => {
  t.ok(resolveOptions({ jwt: { secret: 'x' }, adapter: memoryAdapter(), allowedOrigins: ['https://a.example'], handshakeRateLimit: false }))
  const origins = resolveOptions({ jwt: 's', allowedOrigins: ['https://a.example'] }).allowedOrigins
  t.equal(origins?.('https://a.example', {} as never), true)
  t.equal(origins?.('https://evil.example', {} as never), false)
  t.equal(origins?.(undefined, {} as never), true, 'non-browser clients send no Origin')
  t.equal(resolveOptions({ jwt: 's', allowedOrigins: '*' }).allowedOrigins, undefined)
})

t.test('the handshake limits take windowMs, like rateLimit', async (t) => {
  t.same(resolveOptions({ jwt: 's' }).failedHandshakeLimit, { max: 100, windowMs: 60000 }, 'the default')
  const options = resolveOptions({ jwt: 's', failedHandshakeLimit: { max: 5, windowMs: 500 }, handshakeRateLimit: { max: 3, windowMs: 700 } })
  t.same(options.failedHandshakeLimit, { max: 5, windowMs: 500 })
  t.same(options.handshakeRateLimit, { max: 3, windowMs: 700 })
  t.same(resolveOptions({ jwt: 's', handshakeRateLimit: { max: 3 } }).handshakeRateLimit, { max: 3, windowMs: 60000 })
})

t.test('timeWindowMs is a deprecated alias of windowMs: accepted, warned about once per process', async (t) => {
  const deprecations: Error[] = []
  const onWarning = (warning: Error & { code?: string }): void => {
    if (warning.code === 'FST_REALTIME_DEPRECATED_TIME_WINDOW_MS') deprecations.push(warning)
  }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })

  const first = once(process, 'warning')
  const options = resolveOptions({ jwt: 's', failedHandshakeLimit: { max: 5, timeWindowMs: 500 }, handshakeRateLimit: { max: 3, timeWindowMs: 700 } })
  t.same(options.failedHandshakeLimit, { max: 5, windowMs: 500 })
  t.same(options.handshakeRateLimit, { max: 3, windowMs: 700 })
  const [warning] = await first as [Error & { code?: string }]
  t.equal(warning.name, 'DeprecationWarning')
  t.equal(warning.code, 'FST_REALTIME_DEPRECATED_TIME_WINDOW_MS')
  t.match(warning.message, /timeWindowMs is deprecated, use .*windowMs/)

  // a second use warns no more: a sentinel warning emitted after it arrives with nothing before it
  t.same(resolveOptions({ jwt: 's', handshakeRateLimit: { max: 1, timeWindowMs: 9 } }).handshakeRateLimit, { max: 1, windowMs: 9 })
  const sentinel = once(process, 'warning')
  process.emitWarning('sentinel', { code: 'TEST_SENTINEL' })
  await sentinel
  t.equal(deprecations.length, 1, 'one warning for every use in the process')

  t.same(resolveOptions({ jwt: 's', failedHandshakeLimit: { windowMs: 500, timeWindowMs: 500 } }).failedHandshakeLimit, { max: 100, windowMs: 500 }, 'both, equal: fine')
  t.throws(() => resolveOptions({ jwt: 's', failedHandshakeLimit: { windowMs: 500, timeWindowMs: 600 } }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /failedHandshakeLimit\.timeWindowMs is the deprecated name of failedHandshakeLimit\.windowMs/ })
  t.throws(() => resolveOptions({ jwt: 's', handshakeRateLimit: { timeWindowMs: 0 } }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /handshakeRateLimit/ }, 'validated as windowMs')
})
