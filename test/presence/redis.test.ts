import t from 'tap'
import { requireRedis, startNode, uniquePrefix } from '../redis/helpers.js'
import { presenceConformance } from './conformance.js'

if (requireRedis(t)) {
  presenceConformance(t, {
    name: 'redis',
    async start (t, count, realtime) {
      const prefix = uniquePrefix(t)
      const nodes = []
      for (let i = 0; i < count; i++) nodes.push(await startNode(t, { prefix, realtime }))
      return nodes
    }
  })
}
