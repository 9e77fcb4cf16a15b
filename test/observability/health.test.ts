import t from 'tap'
import type { RealtimeHealth } from '../../lib/index.js'
import { refusalOf } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'
import { eventually } from '../helpers/wait.js'
import { assessHealth } from '../../lib/observability/health.js'

t.test('health(): ok while serving, failing when the node refuses new connections (full), ok again after', async (t) => {
  const server = await startServer(t, { realtime: { maxConnections: 1 } })
  t.match(server.app.realtime.health(), { status: 'ok', adapter: { connected: true }, eventLoopDelayMs: Number, connections: 0 })
  const alice = await server.client('alice')
  t.match(server.app.realtime.health(), { status: 'failing', connections: 1 })
  t.match(await refusalOf(server.client('bob')), { statusCode: 503 }, 'failing is what a new client meets')
  await alice.close()
  await eventually(() => server.app.realtime.stats().connections === 0, 'the server to forget alice')
  t.equal(server.app.realtime.health().status, 'ok')
})

t.test('health(): failing while the server shuts down', async (t) => {
  let duringClose: RealtimeHealth | undefined
  const server = await startServer(t, { before: (app) => { app.addHook('onClose', async () => { duringClose = app.realtime.health() }) } })
  await server.connect('alice')
  await server.app.close()
  t.match(duringClose, { status: 'failing' })
})

t.test('assessHealth: degraded when the adapter is away, failing wins over degraded, overload sheds', async (t) => {
  const base = { isClosing: false, connections: 3, eventLoopDelayMs: 5, maxConnections: 10, maxEventLoopDelayMs: 0, adapter: undefined }
  t.same(assessHealth(base), { status: 'ok', adapter: { connected: true }, eventLoopDelayMs: 5, connections: 3 })
  t.same(assessHealth({ ...base, adapter: { connected: false, lastError: 'connect ECONNREFUSED', reconnects: 2 } }),
    { status: 'degraded', adapter: { connected: false, lastError: 'connect ECONNREFUSED' }, eventLoopDelayMs: 5, connections: 3 }, 'reconnects stay out of the health answer')
  t.equal(assessHealth({ ...base, adapter: { connected: false }, isClosing: true }).status, 'failing')
  t.equal(assessHealth({ ...base, maxEventLoopDelayMs: 4 }).status, 'failing', 'over maxEventLoopDelayMs the node sheds handshakes')
  t.equal(assessHealth({ ...base, maxEventLoopDelayMs: 6 }).status, 'ok')
  t.equal(assessHealth({ ...base, adapter: { connected: false, lastError: 'e'.repeat(1000) } }).adapter.lastError?.length, 200, 'the error text is bounded')
})
