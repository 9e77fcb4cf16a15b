import t from 'tap'
import { Redis } from 'ioredis'
import { requireRedis, startNode, uniquePrefix, REDIS_URL } from './helpers.js'
import { messagesBeforeMarker, type MarkerSender, type TestClient } from '../helpers/client.js'
import { notification } from '../helpers/messages.js'

interface Asserts { same (found: unknown, wanted: unknown, message: string): boolean }

/**
 * The message arrives, and no second copy follows it. `via` is a node that
 * does not hold `client`: its marker goes through Redis after the action's
 * publish resolved, so it arrives behind any copy (an echo included).
 */
async function exactlyOnce (t: Asserts, client: TestClient, type: string, what: string, via: MarkerSender): Promise<Record<string, unknown> & { id: string }> {
  const message = await client.next(type)
  t.same(await messagesBeforeMarker(client, via), [], `${what}: exactly once`)
  return { ...message.data, id: message.id }
}

if (requireRedis(t)) {
  t.test('a node ignores its own messages and drops frames it cannot read, warning once', async (t) => {
    const prefix = uniquePrefix(t)
    const a = await startNode(t, { prefix })
    const b = await startNode(t, { prefix })
    const alice = await a.connect('alice')
    const bob = await b.connect('bob')
    t.equal(await a.app.realtime.broadcastToAll(notification('mine')), 1)
    await exactlyOnce(t, alice, 'system.notification', 'delivered locally, its echo through Redis ignored', b.app.realtime)
    await exactlyOnce(t, bob, 'system.notification', 'delivered on the other node', a.app.realtime)

    const intruder = new Redis(REDIS_URL)
    t.teardown(() => intruder.disconnect())
    await intruder.publish(`${prefix}:messages`, 'not a frame')
    await intruder.publish(`${prefix}:messages`, '1\nsomeone\n{not json\n{}')
    await intruder.publish(`${prefix}:messages`, '9\nfuture\n{}\n{}')
    // a well-formed frame that the node cannot apply: logged, and the node goes on
    await intruder.publish(`${prefix}:messages`, '1\nsomeone\n{"kind":"deliver","target":{"kind":"users","userIds":5}}\n{}')
    await a.app.realtime.broadcastToAll(notification('still fine'))
    t.equal((await exactlyOnce(t, bob, 'system.notification', 'after garbage', a.app.realtime)).message, 'still fine')
    t.equal(b.logs.filter(line => line.includes('unknown format')).length, 1, 'warned once for three bad frames')
    t.equal(b.logs.filter(line => line.includes('could not apply a message')).length, 1)
  })
}
