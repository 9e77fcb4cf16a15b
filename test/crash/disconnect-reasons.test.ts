import t from 'tap'
import { startServer } from '../helpers/server.js'
import { notification } from '../helpers/messages.js'

// disconnectUser with a reason a close frame cannot hold, or a code ws
// refuses, must neither leave zombie connections (marked closed, still
// registered and counted against the user's limit) nor reject with ws's raw
// error: reasons are cut to 123 bytes between two characters, codes are
// checked before anything is closed.

/** 306 bytes of two-, three- and four-byte characters: a byte cut at 123 would land inside one. */
const LONG_REASON = 'é€😀'.repeat(34)

t.test('a 300-byte multi-byte reason is trimmed to 123 bytes, and the user can connect again at once', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 2 } })
  const first = await server.client('alice')
  const second = await server.client('alice')
  const bob = await server.client('bob')
  t.ok(Buffer.byteLength(LONG_REASON) > 300)

  t.equal(await server.app.realtime.disconnectUser('alice', LONG_REASON), 2)
  for (const client of [first, second]) {
    const { code, reason } = await client.closed
    t.equal(code, 4500)
    t.ok(Buffer.byteLength(reason) <= 123 && Buffer.byteLength(reason) > 118, `trimmed to ${Buffer.byteLength(reason)} bytes`)
    t.ok(LONG_REASON.startsWith(reason), 'a prefix of the reason, cut between two characters')
    t.notMatch(reason, /\ufffd/, 'no broken character')
  }
  t.same(server.app.realtime.connectionsOf('alice'), [], 'alice is gone from every index at once')
  t.equal(server.app.realtime.stats().connections, 1)

  // up to the limit again, without waiting for anything to time out
  const again = [await server.client('alice'), await server.client('alice')]
  for (const client of again) t.match(await client.ping(), { pingId: String }, 'answers')
  t.match(await bob.ping(), { pingId: String }, 'bob was never touched')
})

t.test('an invalid close code rejects with FST_REALTIME_CLOSE_CODE_INVALID and closes nothing', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 2 } })
  const alice = await server.client('alice')
  for (const code of [1005, 1006, 1004, 1015, 2000, 3000, 3999, 5000, 4000.5, -1, Number.NaN]) {
    await t.rejects(server.app.realtime.disconnectUser('alice', 'bye', code), { code: 'FST_REALTIME_CLOSE_CODE_INVALID' }, `code ${code}`)
  }
  t.equal(server.app.realtime.connectionsOf('alice').length, 1, 'still registered')
  t.match(await alice.ping(), { pingId: String }, 'and still working')
  t.equal(await server.app.realtime.sendToUser('alice', notification('hi')), 1)
  t.equal((await alice.next('system.notification')).data.message, 'hi')
})

t.test('the application range and the documented protocol codes are accepted', async (t) => {
  const server = await startServer(t, { realtime: { maxConnectionsPerUser: 10 } })
  for (const code of [4000, 4321, 4999, 1000, 1001, 1008, 1011, 1012, 1013]) {
    const client = await server.client('alice')
    t.equal(await server.app.realtime.disconnectUser('alice', 'bye', code), 1)
    t.same(await client.closed, { code, reason: 'bye' }, `closed with ${code}`)
  }
  t.equal(server.app.realtime.stats().connections, 0)
})
