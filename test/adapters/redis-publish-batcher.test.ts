import t from 'tap'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { requireRedis, startNode, uniquePrefix, REDIS_URL, type ClusterNode } from '../redis/helpers.js'
import { connect, receivedBefore, subscribe } from '../channels/support.js'
import { PublishBatcher } from '../../lib/adapters/redis-publish-batcher.js'
import { decodeFrames, encodeBody, FRAME_VERSION, BATCH_VERSION } from '../../lib/adapters/redis-frame-codec.js'
import type { ClusterMessage } from '../../lib/adapters/adapter.js'
import type { RealtimeOptions } from '../../lib/index.js'

// Publish batching over a real Redis: what one turn's publishes become on
// the Redis channels, its bounds, and the order a receiving node sees.

interface Teardown { teardown (fn: () => unknown): void }

const deliver = (n: number): ClusterMessage => ({ kind: 'deliver', target: { kind: 'all' }, payload: `{"n":${n}}` })

/** A publisher and a subscriber on `channels`, recording every Redis message in arrival order. */
async function redisPair (t: Teardown, channels: string[]): Promise<{ pub: Redis, messages: Array<{ channel: string, text: string }>, received: (count: number) => Promise<void> }> {
  const pub = new Redis(REDIS_URL)
  const sub = new Redis(REDIS_URL)
  for (const c of [pub, sub]) c.on('error', () => {})
  t.teardown(() => { pub.disconnect(); sub.disconnect() })
  await sub.subscribe(...channels)
  const messages: Array<{ channel: string, text: string }> = []
  sub.on('message', (channel: string, text: string) => messages.push({ channel, text }))
  const received = async (count: number): Promise<void> => {
    while (messages.length < count) await once(sub, 'message', { signal: AbortSignal.timeout(5000) })
  }
  return { pub, messages, received }
}

function batcher (pub: Redis, options: ConstructorParameters<typeof PublishBatcher>[1]): PublishBatcher {
  return new PublishBatcher({ nodeId: 'node-a', publish: (channel, text) => pub.publish(channel, text) }, options)
}

const payloads = (text: string): string[] => decodeFrames(text).map(d => d.kind === 'message' && d.message.kind === 'deliver' ? d.message.payload : 'invalid')

if (requireRedis(t)) {
  t.test('the publishes of one turn to one channel go as one Redis message, in order', async (t) => {
    const channel = `${uniquePrefix(t)}:messages`
    const { pub, messages, received } = await redisPair(t, [channel])
    const b = batcher(pub, { isEnabled: true })
    await Promise.all([0, 1, 2, 3, 4].map(n => b.publish(channel, encodeBody(deliver(n), 1))))
    await b.publish(channel, encodeBody(deliver(5), 1))
    await received(2)
    t.equal(messages[0]?.text[0], BATCH_VERSION, 'a batch')
    t.same(payloads(messages[0]?.text ?? ''), ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'])
    t.equal(messages[1]?.text[0], FRAME_VERSION, 'alone in its turn: a plain frame')
    t.same(payloads(messages[1]?.text ?? ''), ['{"n":5}'])
  })

  t.test('a batch is bounded in frames and in length; a frame over the length goes alone', async (t) => {
    const channel = `${uniquePrefix(t)}:messages`
    const { pub, messages, received } = await redisPair(t, [channel])
    const byFrames = batcher(pub, { isEnabled: true, maxFrames: 2 })
    await Promise.all([0, 1, 2, 3, 4].map(n => byFrames.publish(channel, encodeBody(deliver(n), 1))))
    await received(3)
    t.same(messages.map(m => payloads(m.text).length), [2, 2, 1])
    messages.length = 0
    const body = encodeBody(deliver(0), 1)
    const byLength = batcher(pub, { isEnabled: true, maxLength: body.length * 2 })
    const big = encodeBody({ kind: 'deliver', target: { kind: 'all' }, payload: 'x'.repeat(body.length * 3) }, 1)
    await Promise.all([body, body, body, big, body].map(b => byLength.publish(channel, b)))
    await received(4)
    t.same(messages.map(m => payloads(m.text).length), [2, 1, 1, 1], 'two fit, the third starts a batch, the big one is alone')
  })

  t.test('a change of channel starts a new batch, so the order across channels is kept', async (t) => {
    const prefix = uniquePrefix(t)
    const [x, y] = [`${prefix}:x`, `${prefix}:y`]
    const { pub, messages, received } = await redisPair(t, [x, y])
    const b = batcher(pub, { isEnabled: true })
    const plan = [x, x, y, x, y, y]
    await Promise.all(plan.map((channel, n) => b.publish(channel, encodeBody(deliver(n), 1))))
    await received(4)
    t.same(messages.map(m => [m.channel, payloads(m.text)]), [[x, ['{"n":0}', '{"n":1}']], [y, ['{"n":2}']], [x, ['{"n":3}']], [y, ['{"n":4}', '{"n":5}']]])
  })

  t.test('flush() sends what waits at once; off, every frame is its own PUBLISH', async (t) => {
    const channel = `${uniquePrefix(t)}:messages`
    const { pub, messages, received } = await redisPair(t, [channel])
    const b = batcher(pub, { isEnabled: true })
    const sent = b.publish(channel, encodeBody(deliver(0), 1))
    b.flush()
    b.flush()
    await pub.publish(channel, 'after the flush')
    await sent
    await received(2)
    t.same(messages.map(m => m.text.slice(0, 15)), [`${FRAME_VERSION}\nnode-a\n{"kind`, 'after the flush'], 'the frame went before the next command')
    messages.length = 0
    const off = batcher(pub, { isEnabled: false })
    await Promise.all([1, 2].map(n => off.publish(channel, encodeBody(deliver(n), 1))))
    await received(2)
    t.same(messages.map(m => payloads(m.text)), [['{"n":1}'], ['{"n":2}']])
  })

  t.test('a batch Redis does not take rejects every publish in it', async (t) => {
    const pub = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true })
    pub.on('error', () => {})
    t.teardown(() => pub.disconnect())
    const b = batcher(pub, { isEnabled: true })
    const results = await Promise.allSettled([0, 1, 2].map(n => b.publish('nowhere', encodeBody(deliver(n), 1))))
    t.same(results.map(r => r.status), ['rejected', 'rejected', 'rejected'])
  })

  const channels: NonNullable<RealtimeOptions['channels']> = { lobby: {}, hist: { history: { size: 50, ttlMs: 60_000 } } }

  async function pair (t: Teardown, publishBatching: boolean): Promise<[ClusterNode, ClusterNode]> {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix, adapter: { publishBatching }, realtime: { channels } })
    const b = await startNode(t, { prefix, adapter: { publishBatching }, realtime: { channels } })
    return [a, b]
  }

  for (const publishBatching of [true, false]) {
    t.test(`publishBatching ${String(publishBatching)}: a node sees another's messages in publish order across the cluster channel, channels and history`, async (t) => {
      const [a, b] = await pair(t, publishBatching)
      const bob = await connect(t, b, 'bob')
      t.match(await subscribe(bob.client, { channels: ['lobby:1', 'hist:1'] }), { type: 'subscription.confirmed' })
      const sent: string[] = []
      const calls: Array<Promise<number>> = []
      for (let n = 0; n < 30; n++) {
        const text = String(n)
        sent.push(text)
        // one turn: the user's channel (cluster), a channel of its own, a history channel (a script), mixed
        if (n % 3 === 0) calls.push(a.app.realtime.sendToUser('bob', { type: 'system.notification', data: { message: text, level: 'info', timestamp: new Date().toISOString() } }))
        else if (n % 3 === 1) calls.push(a.app.realtime.publish('lobby:1', { type: 'note', data: { text } }))
        else calls.push(a.app.realtime.publish(n % 2 === 0 ? 'hist:1' : 'lobby:1', { type: 'note', data: { text } }))
      }
      await Promise.all(calls)
      const seen = (await receivedBefore(bob, a.app)).map(m => {
        const data = m.data as { message?: string, text?: string }
        return data.message ?? data.text
      })
      t.same(seen, sent, 'every message once, in the order node A published them')
    })
  }

  t.test('close() sends what was published before it', async (t) => {
    const prefix = uniquePrefix(t)
    const { messages, received } = await redisPair(t, [`${prefix}:messages`])
    const a = await startNode(t, { prefix })
    const published = a.adapter.publish({ kind: 'disconnect', userId: 'nobody', code: 4000, reason: 'r' })
    await a.adapter.close()
    await published
    await received(1)
    t.same(decodeFrames(messages[0]?.text ?? ''), [{ kind: 'message', message: { kind: 'disconnect', userId: 'nobody', code: 4000, reason: 'r' } }])
  })
}
