import t from 'tap'
import Fastify from 'fastify'
import { parseChannel, echo, MAX_CHANNEL_LENGTH } from '../../lib/channels/names.js'
import { withChannelField } from '../../lib/channels/envelope.js'
import { ChannelIndex, type ChannelHolder } from '../../lib/channels/channel-index.js'
import { SubscriptionState, normalizeRequest } from '../../lib/client/subscription-state.js'

// a silent logger of the same type as the plugin's (pino is fastify's, not a dependency of ours)
const quiet = Fastify({ logger: { level: 'silent' } }).log

t.test('parseChannel splits valid names of declared namespaces only', async (t) => {
  const namespaces = new Map([['review', {}], ['constructor', {}]])
  t.same(parseChannel('review:42', namespaces), { namespace: 'review', id: '42' })
  t.same(parseChannel('constructor:x', namespaces), { namespace: 'constructor', id: 'x' })
  t.same(parseChannel('review:a:b', namespaces), undefined, 'a colon is not an id character')
  for (const name of ['review', 'review:', ':1', 'toString:1', '__proto__:1', 'hasOwnProperty:1', 42, null, undefined, {}, 'review:' + 'a'.repeat(129)]) {
    t.equal(parseChannel(name, namespaces), undefined, String(name).slice(0, 30))
  }
  t.equal(MAX_CHANNEL_LENGTH, 193)
  t.equal(echo('x'.repeat(500)).length, 200)
  t.equal(echo('short'), 'short')
})

t.test('withChannelField appends the channel to the JSON text: same fields, valid JSON', async (t) => {
  const text = JSON.stringify({ type: 't', data: { a: '}' }, timestamp: 'now', id: '1' })
  const parsed = JSON.parse(withChannelField(text, 'review:a.b@c=d-e_f')) as Record<string, unknown>
  t.same(parsed, { type: 't', data: { a: '}' }, timestamp: 'now', id: '1', channel: 'review:a.b@c=d-e_f' })
})

class Holder implements ChannelHolder {
  readonly channels = new Set<string>()
  addChannel (channel: string): boolean { const had = this.channels.has(channel); this.channels.add(channel); return !had }
  removeChannel (channel: string): boolean { return this.channels.delete(channel) }
}

t.test('ChannelIndex tells its listener on a channel\'s first member and after its last, once each', async (t) => {
  const calls: string[] = []
  let release = (): void => {}
  const index = new ChannelIndex<Holder>({
    subscribeChannel: (channel) => { calls.push(`+${channel}`); return new Promise<void>(resolve => { release = resolve }) },
    unsubscribeChannel: async (channel) => { calls.push(`-${channel}`) }
  }, quiet)
  const a = new Holder()
  const b = new Holder()
  t.ok(index.add(a, 'c:1'))
  t.notOk(index.add(a, 'c:1'), 'already in')
  t.ok(index.add(b, 'c:1'))
  t.same(calls, ['+c:1'])
  const ready = index.ready(['c:1', 'c:2'])
  t.ok(ready instanceof Promise, 'waits for the pending subscribe')
  release()
  await ready
  t.equal(index.ready(['c:1']), undefined, 'nothing to wait for once listened')
  t.equal(index.count('c:1'), 2)
  index.removeAll(a)
  t.same(calls, ['+c:1'], 'a member left')
  t.notOk(index.remove(a, 'c:1'))
  t.ok(index.remove(b, 'c:1'))
  t.same(calls, ['+c:1', '-c:1'])
  t.equal(index.channelCount, 0)
  t.same([...b.channels], [])
})

t.test('ChannelIndex without a listener, or with one that fails, never rejects', async (t) => {
  const plain = new ChannelIndex<Holder>({}, quiet)
  const holder = new Holder()
  plain.add(holder, 'c:1')
  t.equal(plain.ready(['c:1']), undefined)
  plain.remove(holder, 'c:1')
  const failing = new ChannelIndex<Holder>({
    subscribeChannel: async () => { throw new Error('no redis') },
    unsubscribeChannel: async () => { throw new Error('no redis') }
  }, quiet)
  failing.add(holder, 'c:2')
  await failing.ready(['c:2'])
  failing.remove(holder, 'c:2')
  t.equal(failing.count('c:2'), 0)
})

t.test('the client\'s subscription state: confirmations, refusals and restore requests within 100 names per list', async (t) => {
  const state = new SubscriptionState()
  state.confirmed('subscribe', { events: ['e1'], channels: Array.from({ length: 150 }, (_, i) => `c:${i}`) })
  const requests = state.restoreRequests()
  t.same(requests.map(r => [r.events.length, r.channels.length]), [[1, 100], [0, 50]])
  state.confirmed('unsubscribe', { events: ['e1'], channels: ['c:0'] })
  t.equal(state.events.size, 0)
  t.equal(state.channels.size, 149)
  t.same(state.refused({ events: [], channels: ['c:1', 'c:2'] }, []), [], 'no details: nothing to drop, nothing retried')
  t.same(state.refused({ events: [], channels: ['c:1', 'c:2'] }, ['c:1']), [{ events: [], channels: ['c:2'] }])
  t.notOk(state.channels.has('c:1'))
  state.forget({ events: [], channels: ['c:2'] })
  t.notOk(state.channels.has('c:2'))

  t.same(normalizeRequest('e'), { events: ['e'], channels: [] })
  t.same(normalizeRequest({ channels: ['c:1', 'c:1'] }), { events: [], channels: ['c:1'] })
  for (const bad of [null, 5, {}, { channels: [] }, { events: [''] }, [], { channels: 'c:1', events: [1] }]) {
    t.throws(() => normalizeRequest(bad as never), TypeError, JSON.stringify(bad))
  }
})
