import t from 'tap'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import WebSocket from 'ws'
import { startServer } from '../helpers/server.js'
import { openRaw } from './support.js'

// Graceful shutdown under load: thousands of clients connected and a
// broadcast loop that keeps going while app.close() runs. Every client must
// be closed with 1001 within a bounded time, with no unhandled rejection and
// no write after the end of a socket.
//
// What a delivery resolves once close() has begun (decided here, documented
// in docs/operations.md, Shutdown): the node has no connections left, so every app.realtime
// delivery resolves 0; it never throws because the app is closing. With a
// cluster adapter the message is still published to the other nodes while
// the adapter is open (a job finishing during the drain still reaches
// clients on the other nodes); once the adapter has closed, that publish
// fails and the call rejects with FST_REALTIME_PUBLISH_FAILED (delivered: 0),
// as any publish failure does.

const CLIENTS = 2000
const CONCURRENCY = 100
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']
const PAD = 'x'.repeat(2048)

t.test(`graceful shutdown under load: ${CLIENTS} clients and broadcasts in flight, app.close() closes all with 1001 in bounded time, no unhandled rejection, no write after end`, async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

  const server = await startServer(t, {
    realtime: {
      maxConnections: CLIENTS * 2,
      handshakeRateLimit: { max: CLIENTS * 2, timeWindowMs: 60000 }
    }
  })

  let closeStarted = false
  let arrivedAfterClose = 0
  const clients: WebSocket[] = []
  const closeCodes = new Map<number, number>()
  const clientErrors: string[] = []
  t.teardown(() => { for (const ws of clients) ws.terminate() })
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CLIENTS) {
      const i = next++
      const ws = await openRaw(`${server.wsUrl}/${server.token(`user-${i}`)}`, { localAddress: SOURCES[i % SOURCES.length] as string })
      ws.on('error', (err: Error) => { clientErrors.push(err.message) })
      ws.on('close', (code: number) => { closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1) })
      ws.on('message', () => { if (closeStarted) arrivedAfterClose++ })
      clients.push(ws)
    }
  }))
  t.equal(server.app.realtime.stats().connections, CLIENTS, `${CLIENTS} clients connected`)

  // broadcasts keep going before, during and after close()
  let stop = false
  const results = { before: 0, during: 0, zeroDuring: 0, rejected: [] as unknown[] }
  const broadcasting = (async () => {
    for (let seq = 0; !stop; seq++) {
      const phase = closeStarted
      try {
        // a burst without yielding, so frames are still queued in the sockets when close() starts
        const burst = Array.from({ length: 4 }, (_, i) => server.app.realtime.broadcastToAll({ type: 'tick', data: { seq, i, pad: PAD } }))
        const delivered = Math.min(...await Promise.all(burst))
        if (!phase) results.before++
        else {
          results.during++
          if (delivered === 0) results.zeroDuring++
        }
      } catch (err) {
        results.rejected.push(err)
      }
      await yieldToLoop()
    }
  })()
  while (results.before < 20) await yieldToLoop()

  // one more burst, and close() in the same tick: those frames are on their way when it starts
  const lastBurst = Promise.all(Array.from({ length: 4 }, (_, i) => server.app.realtime.broadcastToAll({ type: 'tick', data: { seq: -1, i, pad: PAD } })))
  const started = Date.now()
  closeStarted = true
  await server.app.close()
  t.same(await lastBurst, [CLIENTS, CLIENTS, CLIENTS, CLIENTS], 'the last burst before close() went to every client')
  const closeMs = Date.now() - started
  const allClosed = Date.now()
  while ([...closeCodes.values()].reduce((a, b) => a + b, 0) < CLIENTS && Date.now() - allClosed < 5000) await yieldToLoop()
  stop = true
  await broadcasting

  t.comment(`${arrivedAfterClose} frames reached clients after close() had begun (${(arrivedAfterClose * PAD.length / 1024 / 1024).toFixed(1)} MB in flight)`)
  t.ok(arrivedAfterClose >= 4 * CLIENTS, 'what was sent before close() was delivered before the 1001')
  t.comment(`close() took ${closeMs} ms; ${results.before} broadcasts before it, ${results.during} during and after it (${results.zeroDuring} resolved 0)`)
  t.ok(closeMs < 10000, `app.close() finished in ${closeMs} ms`)
  t.same(Object.fromEntries(closeCodes), { 1001: CLIENTS }, `every client was closed with 1001 (going away)`)
  t.same(clientErrors, [], 'no client saw an error (no reset, no cut-off connection)')
  t.same(results.rejected, [], 'no broadcast rejected because the app was closing')
  t.ok(results.during > 0 && results.zeroDuring > 0, 'broadcasts kept running through close() and resolved 0 once the connections were gone')
  t.same(unhandled, [], 'no unhandled rejection')
  const suspicious = server.logs.filter(line => /write after end|ERR_STREAM_WRITE_AFTER_END|ERR_STREAM_DESTROYED|EPIPE|"level":(50|60)/.test(line))
  t.same(suspicious, [], 'no write after end, no error logged')
  t.equal(server.app.realtime.stats().connections, 0)
  t.equal(server.app.websocketServer.clients.size, 0)

  // after close: every delivery resolves 0 and nothing is written anywhere
  const api = server.app.realtime
  t.equal(await api.broadcastToAll({ type: 'late', data: {} }), 0, 'broadcastToAll after close resolves 0')
  t.equal(await api.broadcastToSubscribers('review.updated', { type: 'review.updated', data: { review_id: 'r', changes: {}, timestamp: new Date().toISOString() } }), 0)
  t.equal(await api.sendToUser('user-1', { type: 'late', data: {} }), 0)
  t.equal(await api.broadcastSystemNotification('bye'), 0)
  t.equal(await api.disconnectUser('user-1'), 0)
})
