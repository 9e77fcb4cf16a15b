import t from 'tap'
import { startServer } from '../helpers/server.js'
import { openSocket, type Refusal, type TestClient } from '../helpers/client.js'
import { until } from './support.js'

// The node samples its event loop delay (monitorEventLoopDelay) on each
// sweep tick, min(1000, heartbeatIntervalMs / 2), and sheds on the mean of
// the last tick. A blocker that busy-waits 100 ms every 120 ms keeps that
// mean far over 20 ms. The tick is 1 s here (as with the default heartbeat):
// a much shorter one (50 ms) would alias with the blocker's period and let
// every other window see an idle loop, admitting about half the handshakes.

function startBlocker (): () => void {
  const timer = setInterval(() => {
    const until = Date.now() + 100
    while (Date.now() < until) { /* busy: nothing else runs */ }
  }, 120)
  return () => clearInterval(timer)
}

type Outcome = { accepted: TestClient } | { refused: Refusal }

async function attempt (url: string): Promise<Outcome> {
  try {
    return { accepted: await openSocket(url) }
  } catch (err) {
    return { refused: err as Refusal }
  }
}

t.test('overload shedding: with the event loop blocked past maxEventLoopDelayMs, new handshakes get 503; accepted again once it recovers', async (t) => {
  const server = await startServer(t, { realtime: { maxEventLoopDelayMs: 20, heartbeatIntervalMs: 2000, connectionTimeoutMs: 10000 } })
  const before = await server.connect('early')
  t.ok(server.app.realtime.stats().eventLoopDelayMs.mean <= 20, 'an idle loop is not overloaded')

  const stopBlocker = startBlocker()
  let stopped = false
  t.teardown(() => { if (!stopped) stopBlocker() })
  await until(() => server.app.realtime.stats().eventLoopDelayMs.mean > 20, 'the sweep to see the delay')
  const blocked = server.app.realtime.stats().eventLoopDelayMs
  t.ok(blocked.mean > 0, `stats() reports the delay while blocked (mean ${blocked.mean} ms, p99 ${blocked.p99} ms, max ${blocked.max} ms)`)

  const outcomes: Outcome[] = []
  for (let i = 0; i < 8; i++) outcomes.push(await attempt(`${server.wsUrl}/${server.token(`late-${i}`)}`))
  const refused = outcomes.flatMap(o => 'refused' in o ? [o.refused] : [])
  const accepted = outcomes.flatMap(o => 'accepted' in o ? [o.accepted] : [])
  t.teardown(() => Promise.all(accepted.map(c => c.close())))
  t.equal(refused.length, 8, `${refused.length} of 8 handshakes during the overload were shed`)
  t.ok(refused.every(r => r.statusCode === 503 && r.body.code === 'FST_REALTIME_SERVER_OVERLOADED'), 'each with 503 FST_REALTIME_SERVER_OVERLOADED')
  t.equal(before.ws.readyState, before.ws.OPEN, 'connections already open are kept')

  stopBlocker()
  stopped = true
  await until(() => server.app.realtime.stats().eventLoopDelayMs.mean <= 20, 'the loop to recover')
  const after = await server.connect('after')
  t.equal((await after.request({ type: 'ping', data: { pingId: 'ok' } }, 'pong')).data.pingId, 'ok', 'accepted again once the loop recovered')
  t.ok(server.app.realtime.stats().connectionsRejected >= refused.length)
})

t.test('maxEventLoopDelayMs 0 (the default) never sheds, however slow the loop', async (t) => {
  const server = await startServer(t, { realtime: { heartbeatIntervalMs: 2000, connectionTimeoutMs: 10000 } })
  const stopBlocker = startBlocker()
  t.teardown(stopBlocker)
  await until(() => server.app.realtime.stats().eventLoopDelayMs.mean > 20, 'the sweep to see the delay')
  const client = await server.connect('patient')
  t.equal(client.ws.readyState, client.ws.OPEN)
})
