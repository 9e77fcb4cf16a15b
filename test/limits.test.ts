import t, { type Test } from 'tap'
import { startServer, type TestServer } from './helpers/server.js'
import { openSocket } from './helpers/client.js'

t.test('the rate limit is per user: it spans the user\'s connections and spares other users', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 3, windowMs: 60000 } } })
  const one = await server.connect('alice')
  const two = await server.connect('alice')
  const other = await server.connect('bob')
  await one.request({ type: 'ping' }, 'pong')
  await two.request({ type: 'ping' }, 'pong')
  await one.request({ type: 'ping' }, 'pong')
  const limited = await two.request({ type: 'ping' }, 'error')
  t.equal(limited.data.code, 'RATE_LIMIT_EXCEEDED')
  const fine = await other.request({ type: 'ping', data: { pingId: 'b' } }, 'pong')
  t.equal(fine.data.pingId, 'b')
})

/**
 * Opens one connection per user listed, all at once, with an authenticate
 * hook that holds every handshake until all of them have passed the first
 * check and then lets them go in the same tick: each is admitted before any
 * of them is registered, so only the check after the upgrade can stop them.
 * Resolves each connection's outcome: 'established' or its close.
 */
async function race (t: Test, users: string[], limits: { maxConnectionsPerUser?: number, maxConnections?: number }): Promise<{ outcomes: string[], server: TestServer }> {
  const held: Array<() => void> = []
  let allHeld: () => void = () => {}
  const everyoneWaiting = new Promise<void>((resolve) => { allHeld = resolve })
  const server = await startServer(t, {
    realtime: {
      ...limits,
      authenticate: () => new Promise<true>((resolve) => {
        held.push(() => resolve(true))
        if (held.length === users.length) allHeld()
      })
    }
  })
  const attempts = users.map(user => openSocket(`${server.wsUrl}/${server.token(user)}`))
  await everyoneWaiting
  for (const release of held) release()
  const clients = await Promise.all(attempts)
  t.teardown(() => Promise.all(clients.map(client => client.close())))
  const outcomes = await Promise.all(clients.map(client => Promise.race([
    client.next('connection.established').then(() => 'established'),
    client.closed.then(({ code, reason }) => `${code} ${reason}`)
  ])))
  return { outcomes: outcomes.sort(), server }
}

t.test('handshakes that race past the pre-upgrade check are closed with 4029 after the upgrade: the limits still hold', async (t) => {
  const perUser = await race(t, ['alice', 'alice', 'alice'], { maxConnectionsPerUser: 1 })
  t.same(perUser.outcomes, ['4029 connection limit reached', '4029 connection limit reached', 'established'],
    'three of alice\'s handshakes raced: one connection, the others upgraded and closed with 4029')
  t.match(perUser.server.app.realtime.stats(), { connections: 1, users: 1 }, 'maxConnectionsPerUser was not overshot')

  const perServer = await race(t, ['a', 'b', 'c'], { maxConnections: 2 })
  t.same(perServer.outcomes, ['4029 connection limit reached', 'established', 'established'],
    'three users raced for the last two places: the third was upgraded and closed with 4029')
  t.match(perServer.server.app.realtime.stats(), { connections: 2, users: 2 }, 'maxConnections was not overshot')
})
