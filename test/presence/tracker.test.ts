import t from 'tap'
import Fastify from 'fastify'
import { PresenceTracker } from '../../lib/presence/presence-tracker.js'
import type { PresenceBackend } from '../../lib/index.js'

/** A backend that records the calls the tracker hands it, in order. */
function recordingBackend (): { backend: PresenceBackend, calls: string[] } {
  const calls: string[] = []
  const backend: PresenceBackend = {
    start: async () => {},
    join: async (userId, connectionId, scopes) => { calls.push(`join ${userId} ${connectionId} ${scopes.join(',')}`) },
    leave: async (userId, connectionId, scopes) => { calls.push(`leave ${userId} ${connectionId} ${scopes.join(',')}`) },
    isPresent: async () => false,
    presentAmong: async () => [],
    count: async () => 0,
    members: async () => ({ total: 0, members: [] }),
    close: async () => {}
  }
  return { backend, calls }
}

const connection = { id: 'c1', userId: 'alice' }

t.test('the tracker hands the backend only real changes: a scope entered twice joins once, a scope never entered is never left', async (t) => {
  const { backend, calls } = recordingBackend()
  const tracker = new PresenceTracker({ backend, tracksUsers: false, log: Fastify().log })
  tracker.exit(connection, ['channel:x:1'])
  await tracker.settled(connection.id)
  t.same(calls, [], 'a connection in no scope leaves nothing')

  tracker.enter(connection, ['channel:x:1', 'channel:x:2'])
  tracker.enter(connection, ['channel:x:1'])
  tracker.enter(connection, ['channel:x:2', 'channel:x:3'])
  await tracker.settled(connection.id)
  t.same(calls, ['join alice c1 channel:x:1,channel:x:2', 'join alice c1 channel:x:3'], 'only the scopes it was not in yet')

  tracker.exit(connection, ['channel:x:9'])
  tracker.exit(connection, ['channel:x:1', 'channel:x:9'])
  await tracker.settled(connection.id)
  t.same(calls.slice(2), ['leave alice c1 channel:x:1'], 'only the scopes it was in')

  tracker.disconnected(connection)
  await tracker.settled(connection.id)
  t.same(calls.slice(3), ['leave alice c1 channel:x:2,channel:x:3'], 'closed: it leaves what it was still in')
  tracker.disconnected(connection)
  tracker.exit(connection, ['channel:x:2'])
  await tracker.settled(connection.id)
  t.equal(calls.length, 4, 'once gone, nothing more')
})
