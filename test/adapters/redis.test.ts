// The adapter conformance suite against the Redis adapter: two nodes in this
// process on one random key prefix (its keys deleted in teardown). Skips with
// one line when Redis does not answer, except under CI=true.
import t from 'tap'
import { cluster } from '../../lib/testing/index.js'
import { REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.js'
import { adapterConformance } from './conformance.js'

if (requireRedis(t)) {
  adapterConformance(t, {
    name: 'redis',
    nodes: 2,
    async start (t, options) {
      const nodes = await cluster(2, { redis: { url: REDIS_URL, keyPrefix: uniquePrefix(t) }, ...(options === undefined ? {} : { realtime: options }) })
      t.teardown(() => nodes.close())
      return nodes
    }
  })
}
