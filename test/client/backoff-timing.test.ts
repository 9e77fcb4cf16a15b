import t from 'tap'
import { backoffDelay, ClientErrorCode } from '../../lib/client/index.js'
import { countingWebSocket, createClient, FakeClock, freePort, next, record, startRealtime, token } from './support.js'

const backoff = { initialDelayMs: 1000, maxDelayMs: 8000, multiplier: 2 }
const random = (): number => 0.5

/** Lets the client's async steps (token, socket events, preflight) run; time on the fake clock stands still. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

t.test('reconnect delays follow the backoff on the client\'s clock, capped; a stable connection resets them', async (t) => {
  const port = await freePort()
  const clock = new FakeClock()
  const sockets = countingWebSocket()
  const client = createClient(t, {
    url: `ws://127.0.0.1:${port}/ws`, token: token('dora'), WebSocket: sockets.WebSocket, clock, random, backoff, stableAfterMs: 5000
  })

  const expected = [0, 1, 2, 3, 4].map(attempt => backoffDelay(attempt, backoff, random))
  t.same(expected, [500, 1000, 2000, 4000, 4000], 'what the pure function says')
  const reconnects = record(client, 'reconnect')
  client.connect()
  for (const [index, delayMs] of expected.entries()) {
    // the attempt fails for real (nothing listens), the preflight finds nobody: back off
    const [scheduled] = await reconnects.next()
    t.match(scheduled, { attempt: index + 1, delayMs, error: { code: ClientErrorCode.connectionLost } }, `retry ${index + 1} in ${delayMs} ms`)
    const attemptsSoFar = sockets.count()
    clock.advance(delayMs - 1)
    await settle()
    t.equal(sockets.count(), attemptsSoFar, 'not a millisecond early')
    clock.advance(1)
    await settle()
    t.equal(sockets.count(), attemptsSoFar + 1, 'then it tries')
  }

  // a server comes up: the next attempt succeeds
  const [scheduled] = await reconnects.next()
  t.equal(scheduled.delayMs, 4000, 'still capped')
  const server = await startRealtime(t, { port })
  const opened = next(client, 'open')
  clock.advance(scheduled.delayMs)
  await opened

  // open long enough to count as stable: the next loss starts again from the first step
  clock.advance(5000)
  await server.close()
  t.match((await reconnects.next())[0], { attempt: 1, delayMs: 500 }, 'backoff reset after a stable connection')
})

t.test('a connection that drops before it is stable keeps backing off', async (t) => {
  const server = await startRealtime(t)
  const clock = new FakeClock()
  const client = createClient(t, { url: server.url, token: token('ed'), clock, random, backoff, stableAfterMs: 5000 })
  await client.connect()
  clock.advance(4999)
  const first = next(client, 'reconnect')
  await server.close()
  t.match((await first)[0], { attempt: 1, delayMs: 500 })
  const second = next(client, 'reconnect')
  clock.advance(500)
  t.match((await second)[0], { attempt: 2, delayMs: 1000 }, 'the failed retry grows the delay')
})

t.test('a 1001 going-away close retries within the first step; any other loss keeps the grown delay', async (t) => {
  const port = await freePort()
  const clock = new FakeClock()
  const client = createClient(t, { url: `ws://127.0.0.1:${port}/ws`, token: token('gil'), clock, random, backoff, stableAfterMs: 5000 })
  const reconnects = record(client, 'reconnect')
  client.connect()
  // two refused attempts (nothing listens yet): the exponent grows, with no extra steps for a refused connection
  t.match((await reconnects.next())[0], { attempt: 1, delayMs: 500 })
  clock.advance(500)
  t.match((await reconnects.next())[0], { attempt: 2, delayMs: 1000 }, 'connection refused: the ordinary next step')
  const server = await startRealtime(t, { port })
  let opened = next(client, 'open')
  clock.advance(1000)
  await opened

  // a loss without a close frame, before the connection is stable: the backoff goes on from where it was
  opened = next(client, 'open')
  for (const socket of server.app.websocketServer.clients) socket.terminate()
  t.match((await reconnects.next())[0], { attempt: 3, delayMs: backoffDelay(2, backoff, random), error: { closeCode: 1006 } })
  clock.advance(backoffDelay(2, backoff, random))
  await opened

  // the server restarts (1001): a planned close of a working connection, so the first step again
  await server.close()
  t.match((await reconnects.next())[0], { attempt: 4, delayMs: backoffDelay(0, backoff, random), error: { closeCode: 1001 } }, 'soon, jittered over [0, initialDelayMs)')
})

t.test('a busy server (429) makes the client wait longer, at least its Retry-After', async (t) => {
  const server = await startRealtime(t, { realtime: { maxConnectionsPerUser: 1 } })
  const holder = createClient(t, { url: server.url, token: token('fay') })
  await holder.connect()
  const clock = new FakeClock()
  const client = createClient(t, { url: server.url, token: token('fay'), clock, random, backoff })
  client.connect()
  const [scheduled] = await next(client, 'reconnect')
  t.equal(scheduled.error.statusCode, 429)
  t.match(scheduled.error.message, /busy \(429\)/)
  t.equal(scheduled.delayMs, backoffDelay(2, backoff, random), 'two steps further than an ordinary failure')
  t.equal(client.state, 'reconnecting')
})
