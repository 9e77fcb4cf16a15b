import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { startServer, type TestServer } from '../helpers/server.js'
import { closeCode, openRaw, rawSocket, settledArrayBuffers, until } from './support.js'

// A client that stops reading while ~50 MB are broadcast (800 x 64 KB).
// Without the maxBufferedBytes check every frame for it would pile up in
// the server's socket buffer: ~50 MB retained for one idle client.

const BROADCASTS = 800
const PAD = 'p'.repeat(64 * 1024)
const MAX_MESSAGE_SIZE = 128 * 1024
const MB = 1024 * 1024

/** Counts the broadcasts a reading client gets and how late each arrives. */
class Reader {
  received = 0
  maxLatencyMs = 0
  #waiting: { count: number, resolve: () => void } | undefined

  constructor (ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string, data: { seq: number, sentAt: number } }
      if (message.type !== 'load') return
      if (message.data.seq !== this.received) throw new Error(`reader got ${message.data.seq}, expected ${this.received}`)
      this.received++
      this.maxLatencyMs = Math.max(this.maxLatencyMs, Date.now() - message.data.sentAt)
      if (this.#waiting !== undefined && this.received >= this.#waiting.count) {
        const { resolve } = this.#waiting
        this.#waiting = undefined
        resolve()
      }
    })
  }

  /** Resolves once `count` broadcasts have arrived. */
  async reach (count: number, timeoutMs = 5000): Promise<void> {
    if (this.received >= count) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reader stuck at ${this.received}/${count}`)), timeoutMs)
      this.#waiting = { count, resolve: () => { clearTimeout(timer); resolve() } }
    })
  }
}

interface LoadResult {
  /** The largest bufferedAmount of any server-side socket, sampled after every broadcast. */
  maxServerBuffered: number
  /** Peak growth of process.memoryUsage().arrayBuffers over the run (both ends live in this process). */
  peakArrayBuffersGrowth: number
  /** Growth of Buffers and heap after the run and a full GC: what the server still holds. */
  retainedArrayBuffers: number
  durationMs: number
  delivered: number[]
}

/** Broadcasts 800 x 64 KB, keeping the reader at most 4 messages behind (it shares our event loop); `afterEach` runs after every broadcast. */
async function broadcastLoad (server: TestServer, reader: Reader, afterEach: () => void = () => {}): Promise<LoadResult> {
  const baseline = await settledArrayBuffers()
  const baselineBuffers = process.memoryUsage().arrayBuffers
  let maxServerBuffered = 0
  let peak = 0
  const delivered: number[] = []
  const started = Date.now()
  for (let seq = 0; seq < BROADCASTS; seq++) {
    delivered.push(await server.app.realtime.broadcastToAll({ type: 'load', data: { seq, sentAt: Date.now(), pad: PAD } }))
    for (const socket of server.app.websocketServer.clients) maxServerBuffered = Math.max(maxServerBuffered, socket.bufferedAmount)
    if (seq % 20 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - baselineBuffers)
    afterEach()
    await reader.reach(seq - 3)
  }
  await reader.reach(BROADCASTS)
  const durationMs = Date.now() - started
  const retainedArrayBuffers = await settledArrayBuffers() - baseline
  return { maxServerBuffered, peakArrayBuffersGrowth: peak, retainedArrayBuffers, durationMs, delivered }
}

/** What both policies must guarantee: a bounded buffer for the slow socket, every broadcast on time for the reader. */
function assertBoundedWhileOthersServed (t: Test, mode: string, load: Awaited<ReturnType<typeof broadcastLoad>>, reader: Reader, maxBufferedBytes: number): void {
  t.comment(`${mode}: ${BROADCASTS} x 64 KB in ${load.durationMs} ms; max server-side bufferedAmount ${(load.maxServerBuffered / MB).toFixed(2)} MB; peak arrayBuffers growth ${(load.peakArrayBuffersGrowth / MB).toFixed(1)} MB, retained after GC ${(load.retainedArrayBuffers / MB).toFixed(1)} MB; reader max latency ${reader.maxLatencyMs} ms`)

  t.equal(reader.received, BROADCASTS, 'the reading client got every broadcast')
  t.ok(reader.maxLatencyMs < 1000, `each within a second (max ${reader.maxLatencyMs} ms)`)
  t.ok(load.maxServerBuffered <= maxBufferedBytes + MAX_MESSAGE_SIZE + 14,
    `the slow socket never held more than maxBufferedBytes + one frame (${load.maxServerBuffered} bytes)`)
  t.ok(load.peakArrayBuffersGrowth < 32 * MB, `process buffers grew by at most ${(load.peakArrayBuffersGrowth / MB).toFixed(1)} MB while 50 MB were broadcast`)
  t.ok(load.retainedArrayBuffers < maxBufferedBytes + 4 * MB, `after GC the process holds ${(load.retainedArrayBuffers / MB).toFixed(1)} MB more than before: the slow socket's bounded buffer`)
}

t.test('slow consumer protection (slowConsumer close): a client that stops reading is closed with 4008, its buffer stays bounded, others receive everything on time', async (t) => {
  const maxBufferedBytes = 4 * MB // the default
  const server = await startServer(t, { realtime: { maxMessageSize: MAX_MESSAGE_SIZE } })
  const slow = await openRaw(`${server.wsUrl}/${server.token('slow')}`)
  const fast = await openRaw(`${server.wsUrl}/${server.token('fast')}`)
  t.teardown(() => { slow.terminate(); fast.terminate() })
  const reader = new Reader(fast)
  const slowClosed = closeCode(slow, 20000)

  rawSocket(slow).pause()
  // once the server has closed it, the slow client reads again: its 4008 waits behind
  // what was already buffered, and the sweep cuts off a peer that does not read it
  // within 2 s (a load slowed down by a busy machine would outlast that)
  let resumed = false
  const load = await broadcastLoad(server, reader, () => {
    if (resumed || server.app.realtime.stats().slowConsumerEvents === 0) return
    resumed = true
    rawSocket(slow).resume()
  })
  assertBoundedWhileOthersServed(t, 'close', load, reader, maxBufferedBytes)
  t.ok(server.app.realtime.stats().slowConsumerEvents >= 1, 'reported in stats')
  t.ok(load.delivered.at(-1) === 1, 'the last broadcasts reach the reader only')
  t.equal(await slowClosed, 4008, 'the slow client was closed with 4008 (slow consumer)')
  t.equal(server.app.realtime.stats().connections, 1, 'the server forgot the slow client as it closed it')
  await until(() => server.app.websocketServer.clients.size === 1, 'its socket to finish closing')
  t.equal(fast.readyState, WebSocket.OPEN, 'the reader is still connected')
})

t.test('slow consumer protection (slowConsumer drop): the slow client stays open, messages are dropped for it, stats count them', async (t) => {
  const maxBufferedBytes = 1 * MB
  const server = await startServer(t, { realtime: { maxMessageSize: MAX_MESSAGE_SIZE, maxBufferedBytes, slowConsumer: 'drop' } })
  const slow = await openRaw(`${server.wsUrl}/${server.token('slow')}`)
  const fast = await openRaw(`${server.wsUrl}/${server.token('fast')}`)
  t.teardown(() => { slow.terminate(); fast.terminate() })
  const reader = new Reader(fast)
  let slowReceived = 0
  slow.on('message', (raw: Buffer) => { if (raw.toString().startsWith('{"type":"load"')) slowReceived++ })

  rawSocket(slow).pause()
  const load = await broadcastLoad(server, reader)
  assertBoundedWhileOthersServed(t, 'drop', load, reader, maxBufferedBytes)
  const dropped = server.app.realtime.stats().slowConsumerEvents
  t.ok(dropped > 0, `stats().slowConsumerEvents counts the dropped messages (${dropped})`)
  t.equal(server.app.realtime.stats().connections, 2, 'the slow client is still connected')

  // once it reads again it gets what was buffered, then live messages again
  rawSocket(slow).resume()
  // while its backlog is still over maxBufferedBytes even replies are dropped: wait until it has caught up
  await until(() => [...server.app.websocketServer.clients].every(socket => socket.bufferedAmount === 0), 'the slow client to drain its backlog')
  const pong = new Promise<string>((resolve) => {
    slow.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string, data: { pingId?: string } }
      if (message.type === 'pong') resolve(String(message.data.pingId))
    })
  })
  slow.send(JSON.stringify({ type: 'ping', data: { pingId: 'back' } }))
  t.equal(await pong, 'back', 'the slow client is served again once it reads')
  t.ok(slowReceived > 0 && slowReceived < BROADCASTS, `it got ${slowReceived} of ${BROADCASTS} broadcasts; ${BROADCASTS - slowReceived} were dropped`)
  t.equal(slowReceived + dropped, BROADCASTS, 'every broadcast was either delivered to it or counted as dropped')
})

t.test('control: with the limit lifted, the same load piles up for the slow client (what maxBufferedBytes keeps out)', async (t) => {
  const server = await startServer(t, { realtime: { maxMessageSize: MAX_MESSAGE_SIZE, maxBufferedBytes: 1024 * MB } })
  const slow = await openRaw(`${server.wsUrl}/${server.token('slow')}`)
  const fast = await openRaw(`${server.wsUrl}/${server.token('fast')}`)
  t.teardown(() => { slow.terminate(); fast.terminate() })
  const reader = new Reader(fast)

  rawSocket(slow).pause()
  const load = await broadcastLoad(server, reader)
  t.comment(`no limit: max server-side bufferedAmount ${(load.maxServerBuffered / MB).toFixed(1)} MB; retained after GC ${(load.retainedArrayBuffers / MB).toFixed(1)} MB`)
  // the bounded runs above stay under 4 MB + one frame, and under maxBufferedBytes + 4 MB after GC
  t.ok(load.maxServerBuffered > 32 * MB, `the slow socket held ${(load.maxServerBuffered / MB).toFixed(1)} MB of the 50 MB`)
  t.ok(load.retainedArrayBuffers > 32 * MB, `after GC the process still held ${(load.retainedArrayBuffers / MB).toFixed(1)} MB for it`)
  t.equal(server.app.realtime.stats().slowConsumerEvents, 0, 'nothing counted as a slow consumer')
})
