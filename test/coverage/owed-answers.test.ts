import t from 'tap'
import { startServer } from '../helpers/server.js'
import { eventually } from '../helpers/wait.js'
import { manualClock } from '../../lib/testing/index.js'

// A connection owed a RATE_LIMIT_EXCEEDED answer (its refused messages were
// dropped unread inside the second after one was answered) that closes before
// the sweep tick: the tick forgets it, and answers the ones still open. The
// manual clock decides when the tick runs, so the close always comes first.

t.test('an owed rate-limit answer to a connection that closed before the tick is dropped; one still open is answered', async (t) => {
  const clock = manualClock()
  const server = await startServer(t, { realtime: { clock, rateLimit: { max: 1, windowMs: 60000 }, heartbeatIntervalMs: 10000, connectionTimeoutMs: 30000 } })
  const leaving = await server.connect('leaving')
  const staying = await server.connect('staying')
  for (const client of [leaving, staying]) {
    client.send({ type: 'heartbeat' })
    await client.next('heartbeat.ack')
    client.send({ type: 'heartbeat' })
    t.match((await client.next('error')).data, { code: 'RATE_LIMIT_EXCEEDED' }, 'the first refusal is answered')
  }
  const before = server.app.realtime.stats().rateLimited
  leaving.send({ type: 'heartbeat' })
  staying.send({ type: 'heartbeat' })
  // refused within the same second: dropped unread, an answer owed for the sweep tick
  await eventually(() => server.app.realtime.stats().rateLimited === before + 2, 'both refused')
  await leaving.close()
  await eventually(() => server.app.realtime.stats().connections === 1, 'the server forgot the closed one')
  clock.advance(1000)
  clock.advance(5000)
  t.match((await staying.next('error')).data, { code: 'RATE_LIMIT_EXCEEDED' }, 'the open one gets its owed answer at the tick')
  t.equal(server.app.realtime.stats().connections, 1, 'and the tick did nothing else')
})
