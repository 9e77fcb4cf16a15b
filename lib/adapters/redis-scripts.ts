/**
 * The Lua scripts behind the Redis adapter's cluster-wide connection counts.
 * Each runs atomically in Redis, so two nodes racing for a user's last slot
 * cannot both win.
 *
 * Keys, under the adapter's prefix P:
 *   P:nodes               set of node ids that registered
 *   P:node:<nodeId>       liveness key, expires leaseMs after the node's last heartbeat
 *   P:node-conns:<nodeId> hash connectionId -> userId: the node's leases
 *   P:user:<userId>       hash connectionId -> nodeId: the user's leases, counted by acquire
 *
 * A lease counts only while its node's liveness key exists, so a node that
 * dies stops counting leaseMs after its last heartbeat at the latest, even
 * before anyone cleans up after it. Scripts name keys they derive from
 * arguments (not in KEYS): fine on one Redis, not on Redis Cluster.
 */

/**
 * KEYS: user hash, own node-conns hash, own node key.
 * ARGV: connectionId, nodeId, max, P (with its trailing colon), userId.
 * Returns 1 (acquired), 0 (user at max), -1 (this node is not registered).
 */
export const ACQUIRE = `
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local entries = redis.call('HGETALL', KEYS[1])
local alive = {}
local live = 0
for i = 1, #entries, 2 do
  local node = entries[i + 1]
  local isAlive = alive[node]
  if isAlive == nil then
    isAlive = redis.call('EXISTS', ARGV[4] .. 'node:' .. node) == 1
    alive[node] = isAlive
  end
  if isAlive then live = live + 1 else redis.call('HDEL', KEYS[1], entries[i]) end
end
if live >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
return 1
`

/** KEYS: user hash, own node-conns hash. ARGV: connectionId. */
export const RELEASE = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`

/**
 * Refreshes this node's liveness key and reaps nodes whose key expired:
 * their leases leave the users' hashes.
 * KEYS: own node key, nodes set. ARGV: nodeId, leaseMs, P.
 * Returns { whether the node key still existed (0 means re-register the leases), nodes reaped }.
 */
export const HEARTBEAT = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local reaped = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[3] .. 'node:' .. id) == 0 then
    local conns = ARGV[3] .. 'node-conns:' .. id
    local entries = redis.call('HGETALL', conns)
    for i = 1, #entries, 2 do
      local userKey = ARGV[3] .. 'user:' .. entries[i + 1]
      if redis.call('HGET', userKey, entries[i]) == id then redis.call('HDEL', userKey, entries[i]) end
    end
    redis.call('DEL', conns)
    redis.call('SREM', KEYS[2], id)
    reaped = reaped + 1
  end
end
return { existed, reaped }
`

/**
 * Makes Redis hold exactly this node's leases (after an outage, or when its
 * key expired and another node reaped it).
 * KEYS: own node-conns hash. ARGV: nodeId, P, then connectionId, userId pairs.
 */
export const RESYNC = `
local want = {}
for i = 3, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local id, user = entries[i], entries[i + 1]
  if want[id] ~= user then
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', ARGV[2] .. 'user:' .. user, id)
  end
end
for id, user in pairs(want) do
  redis.call('HSET', KEYS[1], id, user)
  redis.call('HSET', ARGV[2] .. 'user:' .. user, id, ARGV[1])
end
return 1
`

/**
 * Leaves the cluster: drops the node's leases, its key and its entry.
 * KEYS: own node-conns hash, own node key, nodes set. ARGV: nodeId, P.
 */
export const LEAVE = `
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do redis.call('HDEL', ARGV[2] .. 'user:' .. entries[i + 1], entries[i]) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`

/**
 * Live nodes, their leases and the distinct users holding them: O(leases).
 * KEYS: nodes set. ARGV: P. Returns { nodes, connections, users }.
 */
export const STATS = `
local nodes, connections, users = 0, 0, 0
local seen = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'node:' .. id) == 1 then
    nodes = nodes + 1
    local values = redis.call('HVALS', ARGV[1] .. 'node-conns:' .. id)
    connections = connections + #values
    for _, user in ipairs(values) do
      if not seen[user] then
        seen[user] = true
        users = users + 1
      end
    end
  end
end
return { nodes, connections, users }
`
