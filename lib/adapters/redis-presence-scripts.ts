/**
 * The Lua scripts behind presence on Redis. Each runs atomically, so when
 * two nodes race (a user's first connections opening on both, or two nodes
 * sweeping the same expired grace) exactly one of them is told of the change
 * and announces it.
 *
 * Keys, under the adapter's prefix P (the node liveness keys are the
 * adapter's own, see redis-scripts.ts):
 *   P:node:<nodeId>                     liveness key of a node (the adapter's lease)
 *   P:presence:nodes                    set of node ids that hold presence entries
 *   P:presence-node:<nodeId>            hash "<scope>\n<connectionId>" -> userId: what a node holds
 *   P:presence:<scope>:conns:<userId>   hash connectionId -> nodeId: the user's connections in the scope
 *   P:presence:<scope>:online           hash userId -> joinedAt (ms): who is in the scope
 *   P:presence:pending                  sorted set "<scope>\n<userId>" by the end of their grace (ms)
 *   P:presence:epoch                    changes when Redis lost its data (a restart without persistence)
 *
 * A connection counts only while its node's liveness key exists, so a dead
 * node's users leave at most leaseMs after its last heartbeat, when a
 * surviving node's sweep reaps it. Times come from Redis (TIME), so the
 * nodes' clocks never disagree about a grace. Scripts derive keys from
 * arguments: one Redis, not Redis Cluster.
 */

/** Shared by every script: ARGV[1] is P (with its trailing colon). */
const HELPERS = `
local P = ARGV[1]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local alive = {}
local function isAlive(node)
  local known = alive[node]
  if known == nil then
    known = redis.call('EXISTS', P .. 'node:' .. node) == 1
    alive[node] = known
  end
  return known
end
-- the user's live connections in a scope; those of dead nodes are dropped on the way
local function liveCount(connsKey)
  local entries = redis.call('HGETALL', connsKey)
  local live = 0
  for i = 1, #entries, 2 do
    if isAlive(entries[i + 1]) then live = live + 1 else redis.call('HDEL', connsKey, entries[i]) end
  end
  return live
end
local function split(member)
  local at = string.find(member, '\\n', 1, true)
  return string.sub(member, 1, at - 1), string.sub(member, at + 1)
end
local function base(scope) return P .. 'presence:' .. scope end
`

/**
 * A connection enters scopes.
 * KEYS: own node key, own presence-node hash, pending set, epoch key.
 * ARGV: P, nodeId, epoch, userId, connectionId, scope...
 * Returns { -2 } (this node is not registered), { -1 } (Redis lost its data:
 * resync first), or { now, scopes the user entered by this connection... }.
 */
export const PRESENCE_JOIN = HELPERS + `
if redis.call('EXISTS', KEYS[1]) == 0 then return { -2 } end
if redis.call('GET', KEYS[4]) ~= ARGV[3] then return { -1 } end
local now = nowMs()
local user, conn = ARGV[4], ARGV[5]
redis.call('SADD', P .. 'presence:nodes', ARGV[2])
local out = { now }
for i = 6, #ARGV do
  local scope = ARGV[i]
  redis.call('HSET', base(scope) .. ':conns:' .. user, conn, ARGV[2])
  redis.call('HSET', KEYS[2], scope .. '\\n' .. conn, user)
  -- back within the grace: the pending offline is dropped and nobody hears of it
  redis.call('ZREM', KEYS[3], scope .. '\\n' .. user)
  if redis.call('HSETNX', base(scope) .. ':online', user, now) == 1 then out[#out + 1] = scope end
end
return out
`

/**
 * A connection leaves scopes. The user's grace starts when it was their last.
 * KEYS: own node key, own presence-node hash, pending set, epoch key.
 * ARGV: P, nodeId, epoch, userId, connectionId, graceMs, scope...
 * Returns { -1 } (Redis lost its data) or { now, whether a grace started (0/1), scopes left at once (grace 0)... }.
 */
export const PRESENCE_LEAVE = HELPERS + `
if redis.call('GET', KEYS[4]) ~= ARGV[3] then return { -1 } end
local now = nowMs()
local user, conn, grace = ARGV[4], ARGV[5], tonumber(ARGV[6])
local out = { now, 0 }
for i = 7, #ARGV do
  local scope = ARGV[i]
  local connsKey = base(scope) .. ':conns:' .. user
  redis.call('HDEL', connsKey, conn)
  redis.call('HDEL', KEYS[2], scope .. '\\n' .. conn)
  local online = base(scope) .. ':online'
  if liveCount(connsKey) == 0 and redis.call('HEXISTS', online, user) == 1 then
    if grace == 0 then
      redis.call('HDEL', online, user)
      out[#out + 1] = scope
    else
      redis.call('ZADD', KEYS[3], now + grace, scope .. '\\n' .. user)
      out[2] = 1
    end
  end
end
return out
`

/**
 * Run by every node now and then: reaps the presence entries of dead nodes
 * (their users' grace starts, shortened by how long the node has been
 * silent), then ends the graces that are over.
 * KEYS: pending set, presence nodes set. ARGV: P, reapGraceMs, max.
 * Returns { now, scope, userId, scope, userId... }: who left, for this caller alone to announce.
 */
export const PRESENCE_SWEEP = HELPERS + `
local now = nowMs()
local reapGrace = tonumber(ARGV[2])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not isAlive(id) then
    local index = P .. 'presence-node:' .. id
    local entries = redis.call('HGETALL', index)
    for i = 1, #entries, 2 do
      local scope, conn = split(entries[i])
      local user = entries[i + 1]
      local connsKey = base(scope) .. ':conns:' .. user
      if redis.call('HGET', connsKey, conn) == id then redis.call('HDEL', connsKey, conn) end
      if liveCount(connsKey) == 0 and redis.call('HEXISTS', base(scope) .. ':online', user) == 1 then
        redis.call('ZADD', KEYS[1], 'NX', now + reapGrace, scope .. '\\n' .. user)
      end
    end
    redis.call('DEL', index)
    redis.call('SREM', KEYS[2], id)
  end
end
local out = { now }
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[1], member)
  local scope, user = split(member)
  if liveCount(base(scope) .. ':conns:' .. user) == 0 and redis.call('HDEL', base(scope) .. ':online', user) == 1 then
    out[#out + 1] = scope
    out[#out + 1] = user
  end
end
return out
`

/**
 * Makes Redis hold exactly what this node holds (after an outage, or when
 * its liveness key expired and another node reaped it), and says who is
 * online again. "Known" users are those Redis had confirmed before: if Redis
 * lost its data (the epoch changed), they are restored without a new
 * "online", and those of them who left meanwhile get their grace and their "offline".
 * KEYS: own node key, own presence-node hash, pending set, epoch key.
 * ARGV: P, nodeId, graceMs, known epoch, new epoch candidate, n, then n triples
 * (scope, connectionId, userId), then known "<scope>\n<userId>"...
 * Returns { now, epoch, scope, userId... }: who went online, for this caller to announce.
 */
export const PRESENCE_RESYNC = HELPERS + `
local epoch = redis.call('GET', KEYS[4])
local lost = epoch ~= ARGV[4]
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[4], epoch)
end
local now = nowMs()
local node, grace, n = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[6])
redis.call('SADD', P .. 'presence:nodes', node)
local seen, order = {}, {}
local function touch(member)
  if not seen[member] then
    seen[member] = true
    order[#order + 1] = member
  end
end
local want = {}
for i = 0, n - 1 do
  want[ARGV[7 + i * 3] .. '\\n' .. ARGV[8 + i * 3]] = ARGV[9 + i * 3]
end
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local field, user = entries[i], entries[i + 1]
  if want[field] ~= user then
    redis.call('HDEL', KEYS[2], field)
    local scope, conn = split(field)
    local connsKey = base(scope) .. ':conns:' .. user
    if redis.call('HGET', connsKey, conn) == node then redis.call('HDEL', connsKey, conn) end
    touch(scope .. '\\n' .. user)
  end
end
for i = 0, n - 1 do
  local scope, conn, user = ARGV[7 + i * 3], ARGV[8 + i * 3], ARGV[9 + i * 3]
  redis.call('HSET', KEYS[2], scope .. '\\n' .. conn, user)
  redis.call('HSET', base(scope) .. ':conns:' .. user, conn, node)
  touch(scope .. '\\n' .. user)
end
local known = {}
for i = 7 + n * 3, #ARGV do
  known[ARGV[i]] = true
  touch(ARGV[i])
end
local out = { now, epoch }
for _, member in ipairs(order) do
  local scope, user = split(member)
  local online = base(scope) .. ':online'
  local restoring = lost and known[member]
  if liveCount(base(scope) .. ':conns:' .. user) > 0 then
    redis.call('ZREM', KEYS[3], member)
    if redis.call('HSETNX', online, user, now) == 1 and not restoring then
      out[#out + 1] = scope
      out[#out + 1] = user
    end
  elseif redis.call('HEXISTS', online, user) == 1 or restoring then
    redis.call('HSETNX', online, user, now)
    redis.call('ZADD', KEYS[3], 'NX', now + grace, member)
  end
end
return out
`

/** KEYS: epoch key. ARGV: a new epoch, used if there is none. Returns the epoch. */
export const PRESENCE_EPOCH = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`

/**
 * The users of a scope with their connection counts, if there are at most `limit`.
 * KEYS: the scope's online hash. ARGV: P, scope, limit.
 * Returns { total } past the limit, else { total, userId, joinedAt, connections, ... }.
 */
export const PRESENCE_MEMBERS = HELPERS + `
local total = redis.call('HLEN', KEYS[1])
if total > tonumber(ARGV[3]) then return { total } end
local out = { total }
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  out[#out + 1] = entries[i]
  out[#out + 1] = tonumber(entries[i + 1])
  out[#out + 1] = liveCount(base(ARGV[2]) .. ':conns:' .. entries[i])
end
return out
`
