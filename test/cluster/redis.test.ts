import t from 'tap'
import { randomUUID } from 'node:crypto'
import { requireRedis, REDIS_URL } from '../redis/helpers.js'
import { clusterScenario } from './scenario.js'

// The same two node:cluster workers, sharing state through Redis instead of the primary.
const LEASE_MS = 1000
if (requireRedis(t)) {
  t.test('node:cluster workers with the Redis adapter', (t) => clusterScenario(t, {
    CLUSTER_ADAPTER: 'redis', REDIS_URL, KEY_PREFIX: `test-cluster:${randomUUID().slice(0, 8)}`, LEASE_MS: String(LEASE_MS)
  }, LEASE_MS))
}
