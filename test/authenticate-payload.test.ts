import t from 'tap'
import Fastify from 'fastify'
import realtime, { type RealtimeTokenPayload } from '../lib/index.js'
import { connect } from '../lib/testing/index.js'
import { SECRET, signToken } from './helpers/server.js'

t.test('authenticate gets sub as the checked user id string, also for a numeric sub, with the other claims', async (t) => {
  const seen: RealtimeTokenPayload[] = []
  const app = Fastify()
  await app.register(realtime, {
    jwt: SECRET,
    authenticate (payload) {
      seen.push(payload)
      return { user: { id: payload.sub } }
    }
  })
  t.teardown(() => app.close())
  const client = await connect(app, { token: signToken({ sub: 123, role: 'admin' }) })
  t.equal(client.userId, '123')
  t.equal(seen.length, 1)
  t.equal(seen[0]?.sub, '123', 'a string, not the number 123')
  t.equal(seen[0]?.role, 'admin', 'the other claims as they were')
  t.same(app.realtime.getConnection(client.connectionId)?.user, { id: '123' })
})
