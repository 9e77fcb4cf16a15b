import t from 'tap'
import Fastify from 'fastify'
import realtime, { resolveOptions } from '../../lib/index.js'

t.test('channel options: defaults, and namespaces kept in a Map', async (t) => {
  const options = resolveOptions({ jwt: 's' })
  t.equal(options.authorizeTimeoutMs, 5000)
  t.equal(options.maxSubscriptionsPerConnection, 100)
  t.equal(options.channels.size, 0)
  const authorize = (): boolean => true
  const declared = resolveOptions({ jwt: 's', channels: { review: { authorize }, lobby: {}, constructor: {} } })
  t.same([...declared.channels.keys()], ['review', 'lobby', 'constructor'])
  t.equal(declared.channels.get('review')?.authorize, authorize)
  t.ok(Object.isFrozen(declared.channels.get('lobby')))
})

t.test('bad namespaces are refused at register time, each named', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [5, /channels must be an object/],
    [['review'], /channels must be an object/],
    [{ 'bad name': {} }, /channels\.bad name is not a valid namespace name/],
    [{ '1review': {} }, /not a valid namespace name/],
    [{ 'has:colon': {} }, /not a valid namespace name/],
    [{ ['x'.repeat(65)]: {} }, /not a valid namespace name/],
    [{ review: null }, /channels\.review must be an object/],
    [{ review: { authorize: 'yes' } }, /channels\.review\.authorize must be a function/],
    [{ review: { authorise () { return true } } }, /channels\.review\.authorise is not a namespace option/],
    [JSON.parse('{"__proto__": {}}'), /__proto__ is not a valid namespace name/]
  ]
  for (const [channels, message] of cases) {
    t.throws(() => resolveOptions({ jwt: 's', channels } as never), { code: 'FST_REALTIME_OPTIONS_INVALID', message }, String(message))
  }
  for (const [key, value] of [['authorizeTimeoutMs', 0], ['maxSubscriptionsPerConnection', 0], ['authorizeTimeoutMs', 1.5]] as const) {
    t.throws(() => resolveOptions({ jwt: 's', [key]: value }), { message: new RegExp(key) })
  }
  const app = Fastify()
  app.register(realtime, { jwt: 's', channels: { 'no good': {} } })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_REALTIME_OPTIONS_INVALID', message: /no good/ })
  await app.close()
})
