import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { marker, messagesBefore, refusalOf, openSocket, type Envelope, type TestClient } from '../helpers/client.js'
import { signToken } from '../helpers/server.js'
import { startCluster, type ClusterFixture } from './helpers.js'

const notification = (message: string) => ({ type: 'system.notification', data: { message, level: 'info', timestamp: new Date().toISOString() } })

/** Polls `check` (a cross-process state with no event to await) until true, at most `withinMs`. */
export async function eventually (check: () => Promise<boolean>, what: string, withinMs = 3000): Promise<void> {
  const until = Date.now() + withinMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** What arrived on `client` before a marker that worker `via` sends it (across the primary when `via` is the other worker). */
async function nothingBefore (fixture: ClusterFixture, via: number, client: TestClient): Promise<Envelope[]> {
  const label = randomUUID()
  const before = messagesBefore(client, label)
  await fixture.run(via, 'sendToConnection', client.connectionId, marker(label))
  return before
}

async function subscribe (client: TestClient, channel: string): Promise<void> {
  await client.request({ type: 'subscribe', data: { channels: [channel] } }, 'subscription.confirmed')
}

/**
 * The same assertions for every way of running N workers on one machine:
 * two node:cluster workers behind one port act as one server. `freedWithinMs`
 * is how long a killed worker's slots and presence may take to go (at once
 * through the primary; the lease with Redis).
 */
export async function clusterScenario (t: Test, env: Record<string, string>, freedWithinMs: number): Promise<void> {
  const fixture = await startCluster(t, { WORKERS: '2', MAX_PER_USER: '2', ...env })
  t.equal(fixture.workers.length, 2, 'two workers listen on one port')
  const [one, two] = [fixture.workers[0]?.id ?? 1, fixture.workers[1]?.id ?? 2]

  t.test('a message from a route on worker A reaches a user on worker B', async (t) => {
    const alice = await fixture.connectOn(two, 'alice')
    const bob = await fixture.connectOn(one, 'bob')
    t.equal(await fixture.run(one, 'sendToUser', 'alice', notification('from one')), 0, 'none of alice\'s connections is on worker one')
    t.equal((await alice.next('system.notification')).data.message, 'from one', 'alice on worker two got it')
    t.same(await nothingBefore(fixture, one, alice), [], 'once')
    t.same(await nothingBefore(fixture, one, bob), [], 'never bob')
    t.match(await fixture.run(one, 'clusterStats'), { nodes: 2, connections: 2, users: 2 })
    await Promise.all([alice.close(), bob.close()])
  })

  t.test('a user\'s connection limit counts the connections on every worker', async (t) => {
    const first = await fixture.connectOn(one, 'lim')
    const second = await fixture.connectOn(two, 'lim')
    // wherever the third lands, that worker holds one of lim's two: only the cluster's count refuses it
    const refusal = await refusalOf(openSocket(`ws://127.0.0.1:${fixture.port}/ws/${signToken({ sub: 'lim' })}`))
    t.equal(refusal.statusCode, 429, 'the third connection is refused')
    const closed = first.closed
    await first.close()
    await closed
    await eventually(async () => {
      const again = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/${signToken({ sub: 'lim' })}`).catch(() => undefined)
      await again?.close()
      return again !== undefined
    }, 'the closed connection\'s slot to be free')
    await second.close()
  })

  t.test('disconnectUser on one worker closes the user\'s connections on both', async (t) => {
    const onOne = await fixture.connectOn(one, 'carol')
    const onTwo = await fixture.connectOn(two, 'carol')
    const dave = await fixture.connectOn(two, 'dave')
    t.equal(await fixture.run(one, 'disconnectUser', 'carol', 'revoked'), 1, 'one local connection')
    t.equal((await onOne.closed).code, 4500)
    t.equal((await onTwo.closed).code, 4500, 'the one on worker two too')
    t.same(await nothingBefore(fixture, one, dave), [], 'dave on worker two is left alone')
  })

  t.test('a channel publish reaches its subscribers on the other worker only', async (t) => {
    const erin = await fixture.connectOn(two, 'erin')
    const frank = await fixture.connectOn(two, 'frank')
    const gus = await fixture.connectOn(one, 'gus')
    await subscribe(erin, 'room:1')
    t.equal(await fixture.run(one, 'clusterSubscribersOf', 'room:1'), 1, 'worker one counts erin on worker two')
    t.equal(await fixture.run(one, 'publish', 'room:1', notification('in room 1')), 0)
    const got = await erin.next('system.notification')
    t.equal(got.channel, 'room:1')
    t.same(await nothingBefore(fixture, one, erin), [], 'once')
    t.same(await nothingBefore(fixture, one, frank), [], 'not frank, who did not subscribe')
    await subscribe(gus, 'room:1')
    t.equal(await fixture.run(two, 'clusterSubscribersOf', 'room:1'), 2, 'one on each worker')
    await Promise.all([subscribe(erin, 'lobby:1'), subscribe(gus, 'lobby:1')])
    await eventually(async () => (await fixture.run<{ count: number }>(one, 'presenceOf', 'lobby:1')).count === 2, 'lobby presence 2')
    t.pass('channel presence counts the members on both workers')
    t.equal(await fixture.run(two, 'publish', 'room:1', notification('both')), 1, 'erin, on worker two itself')
    t.equal((await gus.next('system.notification')).data.message, 'both', 'gus on worker one got it')
    await Promise.all([erin.close(), frank.close(), gus.close()])
  })

  t.test('presence: a user on one worker is online for the other', async (t) => {
    t.equal(await fixture.run(one, 'isOnline', 'hana'), false)
    const hana = await fixture.connectOn(two, 'hana')
    await eventually(() => fixture.run<boolean>(one, 'isOnline', 'hana'), 'hana online on worker one')
    t.same(await fixture.run(one, 'onlineUsers', ['hana', 'nobody']), ['hana'])
    await hana.close()
    await eventually(async () => !(await fixture.run<boolean>(one, 'isOnline', 'hana')), 'hana offline')
    t.pass('offline once her connection closed (grace 0)')
  })

  t.test('a worker killed: its slots and presence are freed', async (t) => {
    const ivyOne = await fixture.connectOn(one, 'ivy')
    const ivyTwo = await fixture.connectOn(two, 'ivy')
    const jo = await fixture.connectOn(two, 'jo')
    await eventually(() => fixture.run<boolean>(one, 'isOnline', 'jo'), 'jo online')
    const killedAt = Date.now()
    await fixture.command('kill', { worker: two })
    t.equal((await ivyTwo.closed).code, 1006, 'its clients see an abnormal close')
    await jo.closed
    let ivyAgain: TestClient | undefined
    await eventually(async () => {
      ivyAgain = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/${signToken({ sub: 'ivy' })}`).catch(() => undefined)
      return ivyAgain !== undefined
    }, 'the killed worker\'s slot to be freed', freedWithinMs + 2000)
    t.ok(Date.now() - killedAt <= freedWithinMs + 1000, `ivy's slot freed ${Date.now() - killedAt} ms after the kill`)
    await eventually(async () => !(await fixture.run<boolean>(one, 'isOnline', 'jo')), 'jo offline', freedWithinMs + 2000)
    t.equal(await fixture.run(one, 'sendToUser', 'ivy', notification('still here')), 2, 'worker one serves on')
    await Promise.all([ivyOne.close(), ivyAgain?.close()])
  })

  t.test('shutdown leaves no process behind', async (t) => {
    const exited = once(fixture.child, 'exit')
    fixture.child.send({ id: 0, cmd: 'shutdown' })
    const [code] = await exited
    t.equal(code, 0, 'the primary exits 0 after its workers')
    for (const worker of fixture.workers) {
      await eventually(async () => {
        try {
          process.kill(worker.pid, 0)
          return false
        } catch {
          return true
        }
      }, `worker ${worker.pid} gone`)
    }
    t.pass('no worker is left')
  })
}
