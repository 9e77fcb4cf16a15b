import t from 'tap'
import Fastify from 'fastify'
import realtime, { formatInboxPosition, parseInboxPosition, resolveOptions, type Adapter } from '../../lib/index.js'
import { MessageRing } from '../../lib/history/ring.js'
import { RecoveryGate } from '../../lib/history/gate.js'
import { StreamCopy } from '../../lib/history/stream-copy.js'
import { EpochWatch } from '../../lib/history/epoch-watch.js'

t.test('options: history and inbox take defaults and are checked; a cluster adapter without a history engine is refused', async (t) => {
  const options = resolveOptions({ jwt: 's', inbox: {}, channels: { review: { history: { size: 10 } } } })
  t.same(options.inbox, { size: 100, ttlMs: 300_000 })
  t.same(options.channels.get('review')?.history, { size: 10, ttlMs: 300_000 })
  t.equal(options.maxRecoveredMessages, 300)
  t.equal(resolveOptions({ jwt: 's' }).inbox, undefined, 'the inbox is off unless asked for')
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ inbox: { size: 0 } }, /inbox\.size/],
    [{ inbox: { size: 10, ttl: 5 } }, /inbox/],
    [{ maxRecoveredMessages: 0 }, /maxRecoveredMessages/],
    [{ channels: { review: { history: 5 } } }, /channels\.review\.history must be \{ size, ttlMs \}/],
    [{ channels: { review: { history: { ttlMs: -1 } } } }, /channels\.review\.history\.ttlMs/],
    [{ channels: { review: { history: { size: 1, keep: true } } } }, /channels\.review\.history/]
  ]
  for (const [input, pattern] of cases) {
    t.throws(() => resolveOptions({ jwt: 's', ...input }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: pattern }, JSON.stringify(input))
  }
  const clustered: Adapter = { start: async () => {}, publish: async () => {}, close: async () => {} }
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(realtime, { jwt: 's', adapter: clustered, inbox: {}, channels: { review: { history: {} }, lobby: {} } }) },
    { code: 'FST_REALTIME_OPTIONS_INVALID', message: /channels\.review\.history, inbox need an adapter with a history engine/ })
  const plain = Fastify()
  t.teardown(() => plain.close())
  await plain.register(realtime, { jwt: 's', adapter: clustered, channels: { lobby: {} } })
  t.pass('without history, any adapter')
})

t.test('inbox positions in the handshake: format and parse, never a throw', async (t) => {
  t.equal(formatInboxPosition({ epoch: 'aB_-9', offset: 12 }), 'aB_-9:12')
  t.same(parseInboxPosition('aB_-9:12'), { epoch: 'aB_-9', offset: 12 })
  t.same(parseInboxPosition('e:0'), { epoch: 'e', offset: 0 })
  t.same(parseInboxPosition('e:9007199254740991'), { epoch: 'e', offset: Number.MAX_SAFE_INTEGER }, 'the largest offset a number holds exactly')
  // 16 digits pass the pattern; past Number.MAX_SAFE_INTEGER the offset would be rounded, so it is malformed
  for (const bad of ['', ':1', 'e:', 'e:01', 'e:-1', 'e:1.5', 'e:9007199254740992', 'e:9999999999999999', 'e:99999999999999999', 'e f:1', `${'e'.repeat(65)}:1`, 'x'.repeat(100), 5, null, ['e:1'], { epoch: 'e' }]) {
    t.equal(parseInboxPosition(bad), undefined, JSON.stringify(bad))
  }
})

t.test('ring: bounded by capacity, expired oldest first, compacted', async (t) => {
  const ring = new MessageRing()
  for (let i = 1; i <= 50; i++) ring.push(`m${i}`, i, 30)
  t.equal(ring.count, 30)
  t.same(ring.newest(3), ['m48', 'm49', 'm50'])
  t.equal(ring.timeOfNewest(30), 21)
  t.equal(ring.expire(40), 20, 'stored at or before 40')
  t.same(ring.newest(ring.count), ['m41', 'm42', 'm43', 'm44', 'm45', 'm46', 'm47', 'm48', 'm49', 'm50'])
  t.equal(ring.expire(10), 0)
  t.equal(ring.expire(100), 10)
  t.equal(ring.count, 0)
  ring.push('again', 101, 30)
  t.same(ring.newest(1), ['again'])
})

function gateWith (maxHeldBytes = 1 << 20): { gate: RecoveryGate, sent: string[], overflows: number[] } {
  const sent: string[] = []
  const overflows: number[] = []
  const gate = new RecoveryGate({
    send: (message) => sent.push(typeof message === 'string' ? message : message.bytes.toString()),
    release: (bytes) => sent.push(bytes.toString()),
    overflow: () => overflows.push(1),
    idle: () => {}
  }, maxHeldBytes)
  return { gate, sent, overflows }
}
const plain = '{"type":"t","data":{},"id":"x"}'
const channelText = '{"type":"t","data":{},"id":"x","channel":"c:1"}'
const inChannel = (offset: number): StreamCopy => new StreamCopy(plain, channelText, 'c:1', offset, undefined)
const both = (offset: number, inbox: number): StreamCopy => new StreamCopy(plain, channelText, 'c:1', offset, inbox)

t.test('gate: a held stream releases above its replayed top, in order; a message of two streams is split, never lost', async (t) => {
  const { gate, sent } = gateWith()
  gate.hold('c:1')
  gate.offer(inChannel(3))
  gate.offer(both(4, 7))
  t.same(sent, ['{"type":"t","data":{},"id":"x","inbox":true,"offset":7}'], 'the inbox part of a held message goes at once')
  gate.offer(inChannel(5))
  t.ok(gate.holdRaw('raw') === false, 'a message of no stream passes unless paused')
  gate.settle('c:1', 3)
  t.same(sent.slice(1), [
    '{"type":"t","data":{},"id":"x","channel":"c:1","offset":4}',
    '{"type":"t","data":{},"id":"x","channel":"c:1","offset":5}'
  ], 'the channel parts above the top, in order')
  t.ok(gate.isIdle, 'a newer one came: no older one can follow, nothing left to filter')
  gate.hold('c:1')
  gate.settle('c:1', 8)
  gate.offer(inChannel(7))
  gate.offer(inChannel(8))
  t.equal(sent.length, 3, 'a late live copy of a replayed message is dropped')
  gate.offer(inChannel(9))
  t.equal(sent.length, 4)
  t.ok(gate.isIdle)
})

t.test('gate: paused, everything waits in order; a discarded stream drops its part; past the bound, overflow', async (t) => {
  const { gate, sent } = gateWith()
  gate.pause()
  gate.hold('inbox')
  t.ok(gate.holdRaw('first'))
  gate.offer(new StreamCopy(plain, undefined, undefined, undefined, 1))
  gate.offer(both(1, 2))
  t.same(sent, [])
  gate.settle('inbox', 1)
  gate.resume()
  t.same(sent, ['first', '{"type":"t","data":{},"id":"x","channel":"c:1","offset":1,"inbox_offset":2}'], 'inbox 1 was in the replay')
  gate.hold('c:1')
  gate.offer(both(2, 3))
  gate.discard('c:1')
  t.same(sent.slice(2), ['{"type":"t","data":{},"id":"x","inbox":true,"offset":3}'])
  t.ok(gate.isIdle)

  const small = gateWith(100)
  small.gate.pause()
  small.gate.holdRaw('x'.repeat(60))
  t.same(small.overflows, [])
  small.gate.holdRaw('x'.repeat(60))
  t.same(small.overflows, [1], 'the connection is a slow consumer')
})

t.test('gate: whenResumed waits for resume while paused, and resolves at once when not', async (t) => {
  const { gate } = gateWith()
  const order: string[] = []
  const settled = gate.whenResumed().then(() => { order.push('unpaused') })
  await Promise.resolve()
  t.same(order, ['unpaused'], 'not paused: at once, nothing to wait for')
  await settled
  order.length = 0
  gate.pause()
  const first = gate.whenResumed().then(() => { order.push('first') })
  const second = gate.whenResumed().then(() => { order.push('second') })
  await Promise.resolve()
  t.same(order, [], 'paused: still waiting')
  gate.resume()
  await Promise.all([first, second])
  t.same(order, ['first', 'second'], 'every waiter, in order')
  await gate.whenResumed()
  t.notOk(gate.isPaused)
})

t.test('epoch watch: a new epoch is told once, to all but the reader; streams nobody is on are forgotten', async (t) => {
  const changes: unknown[] = []
  const watch = new EpochWatch<string>((change) => changes.push(change))
  watch.observe('c:x', false, 'x', 'e1', 5)
  watch.observe('c:x', false, 'x', 'e1', 6)
  t.same(changes, [])
  watch.learned('c:x', false, 'x', { epoch: 'e2', offset: 0 }, 'reader')
  watch.observe('c:x', false, 'x', 'e2', 1)
  t.same(changes, [{ isInbox: false, owner: 'x', position: { epoch: 'e2', offset: 0 }, except: 'reader' }])
  t.equal(watch.size, 1)
  watch.sweep(() => false)
  t.equal(watch.size, 0)
})
