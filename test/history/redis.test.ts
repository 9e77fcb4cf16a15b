import t from 'tap'
import { Redis } from 'ioredis'
import { RedisHistory, type HistoryCommands } from '../../lib/adapters/redis-history.js'
import { HISTORY_APPEND, HISTORY_READ } from '../../lib/adapters/redis-history-scripts.js'
import { deleteKeys, requireRedis, uniquePrefix, REDIS_URL } from '../redis/helpers.js'
import { historyConformance } from './conformance.js'
import type { Teardown } from '../helpers/teardown.js'

/** An ioredis connection with the engine's scripts, as the adapter's publisher has them. */
async function connection (t: Teardown): Promise<Redis & HistoryCommands> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  client.defineCommand('rtHistoryAppend', { numberOfKeys: 0, lua: HISTORY_APPEND })
  client.defineCommand('rtHistoryRead', { numberOfKeys: 0, lua: HISTORY_READ })
  await client.connect()
  t.teardown(() => client.disconnect())
  return client as Redis & HistoryCommands
}

if (requireRedis(t)) {
  historyConformance(t, 'redis', async (t) => {
    const prefix = uniquePrefix(t)
    const clock = { now: 1_000_000 }
    const engineOn = async (): Promise<RedisHistory> => {
      const client = await connection(t)
      return new RedisHistory({
        keyPrefix: `${prefix}:`,
        commands: () => client,
        redisChannelOf: () => `${prefix}:messages`,
        broadcastFrameStart: '1\n*\n'
      }, { now: () => clock.now })
    }
    const engine = await engineOn()
    return {
      engine,
      clock,
      // another node: its own connection, the same keys
      peer: engineOn,
      // Redis restarted empty, as far as these keys go
      loseEverything: async () => {
        await deleteKeys(REDIS_URL, prefix)
        return engine
      }
    }
  })

  t.test('redis: the script publishes each message with its stamps, in stream order, for every node including the publisher', async (t) => {
    const prefix = uniquePrefix(t)
    const client = await connection(t)
    const subscriber = new Redis(REDIS_URL)
    subscriber.on('error', () => {})
    t.teardown(() => subscriber.disconnect())
    await subscriber.subscribe(`${prefix}:messages`)
    const frames: string[] = []
    subscriber.on('message', (_channel: string, frame: string) => frames.push(frame))
    const engine = new RedisHistory({ keyPrefix: `${prefix}:`, commands: () => client, redisChannelOf: () => `${prefix}:messages`, broadcastFrameStart: '1\n*\n' })
    const payload = '{"type":"t","data":{},"timestamp":"x","id":"1"}'
    const stamps = await engine.append({ target: { kind: 'users', userIds: ['alice', 'bob'] }, payload, inbox: { userIds: ['alice', 'bob'], history: { size: 10, ttlMs: 1000 } } })
    const published = await new Promise<string>((resolve) => {
      const poll = (): void => { if (frames.length > 0) resolve(frames[0] as string); else setImmediate(poll) }
      poll()
    })
    const [version, from, header, body] = published.split('\n')
    t.equal(version, '1')
    t.equal(from, '*', 'from every node\'s point of view: the publisher applies it too')
    t.same(JSON.parse(header as string), { kind: 'deliver', target: { kind: 'users', userIds: ['alice', 'bob'] }, seq: { users: stamps.users } })
    t.equal(body, payload, 'the payload as built: each node adds the offsets for its recipients')
    t.ok((await client.pttl(`${prefix}:history:u:alice`)) > 0, 'the stream expires after its ttl')
    t.ok((await client.pttl(`${prefix}:history-meta:u:alice`)) > 1000, 'its position outlives it')
  })
}
