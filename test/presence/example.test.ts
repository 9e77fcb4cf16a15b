import t from 'tap'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../examples/app.js'
import { loadConfig } from '../../examples/config.js'
import { openSocket, type TestClient } from '../helpers/client.js'
import { subscribedToStatus } from './support.js'

t.test('REALTIME_PRESENCE_GRACE_MS sets the grace', async (t) => {
  t.same(loadConfig({ REALTIME_PRESENCE_GRACE_MS: '250' }).realtime.presence, { offlineGraceMs: 250 })
  t.equal(loadConfig({}).realtime.presence, undefined, 'the plugin\'s default')
  t.throws(() => loadConfig({ REALTIME_PRESENCE_GRACE_MS: 'soon' }), /REALTIME_PRESENCE_GRACE_MS must be an integer/)
})

t.test('the example tells every logged-in user who is online, and lists them', async (t) => {
  const app = await buildApp({ jwtSecret: 'example-presence-secret', realtime: { presence: { offlineGraceMs: 100 } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const login = async (userId: string): Promise<string> => {
    const response = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) })
    return ((await response.json()) as { token: string }).token
  }
  const clients: TestClient[] = []
  t.teardown(() => Promise.all(clients.map(client => client.close())))
  const connect = async (userId: string): Promise<TestClient> => {
    const client = await openSocket(`${base.replace('http', 'ws')}/api/v1/ws/${await login(userId)}`)
    clients.push(client)
    await client.next('connection.established')
    return client
  }
  const bob = await subscribedToStatus(await connect('bob'))
  const alice = await connect('alice')
  t.match((await bob.next('user.status_changed')).data, { user_id: 'alice', status: 'online' })
  await login('carol') // logged in, never connected

  const online = await fetch(`${base}/api/v1/presence/users`, { headers: { authorization: `Bearer ${await login('bob')}` } })
  t.equal(online.status, 200)
  t.same(((await online.json()) as { online: string[] }).online.sort(), ['alice', 'bob'])
  const refused = await fetch(`${base}/api/v1/presence/users`)
  t.equal(refused.status, 401, 'behind the login like the other routes')

  await alice.close()
  t.match((await bob.next('user.status_changed')).data, { user_id: 'alice', status: 'offline' })
})
