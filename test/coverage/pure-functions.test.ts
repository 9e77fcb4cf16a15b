import t from 'tap'
import { resolveOptions } from '../../lib/index.js'
import { failureCloseCode } from '../../lib/socket-listeners.js'
import { channelOfScope } from '../../lib/presence/channel-presence.js'

// Pure functions whose rarer branches the socket tests do not reach on every run.

t.test('resolveOptions(undefined): no options at all are the defaults, as {} is', async (t) => {
  const options = resolveOptions(undefined)
  t.match(options, { path: '/ws', maxConnectionsPerUser: 3, heartbeatIntervalMs: 30000 })
  t.same(options, resolveOptions({}))
})

t.test('failureCloseCode: 1002 when ws left no status-code symbol, or one that is not a number', async (t) => {
  t.equal(failureCloseCode(new Error('no symbol')), 1002)
  const withString = Object.assign(new Error('string code'), { [Symbol('status-code')]: '1009' })
  t.equal(failureCloseCode(withString), 1002)
  const withNumber = Object.assign(new Error('number code'), { [Symbol('status-code')]: 1009 })
  t.equal(failureCloseCode(withNumber), 1009, 'the number ws kept')
})

t.test('channelOfScope: a channel scope names its channel; any other scope (a user\'s) names none', async (t) => {
  t.equal(channelOfScope('channel:review:42'), 'review:42')
  t.equal(channelOfScope('users'), undefined)
})
