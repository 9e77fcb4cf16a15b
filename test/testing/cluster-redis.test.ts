import t from 'tap'
import { cluster } from '../../lib/testing/index.js'
import { REDIS_URL, requireRedis } from '../redis/helpers.js'
import { notification } from '../helpers/messages.js'

if (requireRedis(t)) {
  t.test('cluster(2) on Redis: delivery and the per-user limit across the nodes, on a key prefix of its own', async (t) => {
    const nodes = await cluster(2, { redis: REDIS_URL, realtime: { maxConnectionsPerUser: 1 } })
    t.teardown(() => nodes.close())
    t.equal(nodes.bus, undefined)
    t.match(nodes.keyPrefix, /^fastify-realtime-test-[0-9a-f]{12}$/)
    const alice = await nodes.connect(1, { userId: 'alice' })
    t.equal(await nodes.nodes[0]?.realtime.sendToUser('alice', notification('through Redis')), 0)
    t.match(await alice.next('system.notification'), { data: { message: 'through Redis' } })
    await t.rejects(nodes.connect(0, { userId: 'alice' }), { code: 'FST_REALTIME_TESTING_REFUSED', statusCode: 429 })
    await nodes.nodes[0]?.realtime.sendToUser('alice', notification('marker'))
    await alice.expectNothing({ until: (message) => (message.data as { message?: string }).message === 'marker' })
  })

  t.test('a key prefix of the test\'s own choosing is kept', async (t) => {
    const keyPrefix = `fastify-realtime-test-given-${process.pid}`
    const nodes = await cluster(1, { redis: { url: REDIS_URL, keyPrefix } })
    t.teardown(() => nodes.close())
    t.equal(nodes.keyPrefix, keyPrefix)
  })

  t.test('two Redis clusters at once never see each other\'s messages', async (t) => {
    const [one, two] = await Promise.all([cluster(1, { redis: REDIS_URL }), cluster(2, { redis: REDIS_URL })])
    t.teardown(() => Promise.all([one.close(), two.close()]))
    t.not(one.keyPrefix, two.keyPrefix)
    const inTwo = await two.connect(1, { userId: 'alice' })
    // published once Redis has it; the marker then crosses the same Redis to the same subscriber, after it
    await one.nodes[0]?.realtime.sendToUser('alice', notification('for cluster one'))
    await two.nodes[0]?.realtime.sendToUser('alice', notification('marker'))
    await inTwo.expectNothing({ until: (message) => (message.data as { message?: string }).message === 'marker' })
  })
}
