import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { MemoryHistory } from '../../lib/history/memory.js'
import { channelStream } from '../../lib/index.js'
import { historyConformance } from './conformance.js'

historyConformance(t, 'memory', async () => {
  const clock = { now: 1_000_000 }
  let engine = new MemoryHistory({ now: () => clock.now })
  return {
    engine,
    clock,
    // one process: every "node" is this engine
    peer: async () => engine,
    loseEverything: async () => {
      engine = new MemoryHistory({ now: () => clock.now })
      return engine
    }
  }
})

t.test('memory: a stream idle past the retention is forgotten; its memory per message, measured', async (t) => {
  const clock = { now: 0 }
  const engine = new MemoryHistory({ now: () => clock.now, positionRetentionMs: 10_000 })
  const history = { size: 100, ttlMs: 1000 }
  await engine.read(channelStream('a:1'), history, undefined, 1)
  t.equal(engine.streamCount, 1)
  clock.now += 9_999
  engine.sweep(clock.now)
  t.equal(engine.streamCount, 1, 'kept within the retention')
  clock.now += 1
  engine.sweep(clock.now)
  t.equal(engine.streamCount, 0, 'forgotten after it')

  // 1,000 streams of 100 distinct messages of about 300 bytes of JSON each
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const message = (n: number): string => JSON.stringify({ type: 'review.updated', data: { review_id: '42', changes: { status: 'approved', note: 'x'.repeat(120) } }, timestamp: new Date().toISOString(), id: `2b1f0f5e-6a4e-4a2b-9c1d-${String(n).padStart(12, '0')}`, channel: 'review:42' })
  const text = message(0)
  gc()
  const before = process.memoryUsage().heapUsed
  for (let s = 0; s < 1000; s++) {
    for (let n = 0; n < 100; n++) {
      const distinct = message(s * 100 + n)
      engine.appendNow({ target: { kind: 'channel', channel: `a:${s}` }, payload: distinct, channel: { name: `a:${s}`, text: distinct, history } })
    }
  }
  gc()
  const perMessage = (process.memoryUsage().heapUsed - before) / 100_000
  t.comment(`memory history: ${Math.round(perMessage)} bytes of heap per stored message of ${text.length + 14} characters of JSON (100,000 messages in 1,000 streams)`)
  t.ok(perMessage < text.length + 200, 'the message text and little else')
  for (let s = 0; s < 1000; s++) {
    for (let n = 0; n < 50; n++) engine.appendNow({ target: { kind: 'channel', channel: `a:${s}` }, payload: text, channel: { name: `a:${s}`, text, history } })
  }
  // a stream with a position and no message: what every subscribed channel and connected user's inbox costs
  const empty = new MemoryHistory()
  gc()
  const beforeStreams = process.memoryUsage().heapUsed
  for (let s = 0; s < 10_000; s++) empty.readNow(channelStream(`review:${s}`), history, undefined, 1)
  gc()
  const perStream = (process.memoryUsage().heapUsed - beforeStreams) / 10_000
  t.comment(`memory history: ${Math.round(perStream)} bytes of heap per stream with a position and no message (10,000 streams)`)
  t.ok(perStream < 1024)
  const read = engine.readNow(channelStream('a:0'), history, undefined, 1)
  t.equal(read.position.offset, 150)
  const kept = engine.readNow(channelStream('a:0'), history, { epoch: read.position.epoch, offset: 50 }, 1000)
  t.equal(kept.recovered === true && kept.entries.length, 100, 'a ring never holds more than size')
})
