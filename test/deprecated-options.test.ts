import t from 'tap'
import { once } from 'node:events'
import { resolveOptions, type HandshakeLimitOptions } from '../lib/index.js'

/** As a JavaScript host may write it (a config value that is not set): TypeScript's exactOptionalPropertyTypes forbids it. */
const unset = <T extends Record<string, unknown>>(limit: T): HandshakeLimitOptions => limit as HandshakeLimitOptions

// Its own process: the deprecation warning is emitted once per process, and
// test/options.test.ts checks that one.
t.test('timeWindowMs: undefined is as if it were not given: the window keeps windowMs or its default, and nothing is warned', async (t) => {
  const deprecations: Error[] = []
  const onWarning = (warning: Error & { code?: string }): void => {
    if (warning.code === 'FST_REALTIME_DEPRECATED_TIME_WINDOW_MS') deprecations.push(warning)
  }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })

  const options = resolveOptions({ jwt: 's', failedHandshakeLimit: unset({ max: 5, timeWindowMs: undefined }), handshakeRateLimit: unset({ max: 3, windowMs: 700, timeWindowMs: undefined }) })
  t.same(options.failedHandshakeLimit, { max: 5, windowMs: 60000 }, 'the default window')
  t.same(options.handshakeRateLimit, { max: 3, windowMs: 700 }, 'windowMs as given, no clash with an undefined old name')

  const sentinel = once(process, 'warning')
  process.emitWarning('sentinel', { code: 'TEST_SENTINEL' })
  await sentinel
  t.same(deprecations, [], 'no deprecation warning for a name given no value')
})
