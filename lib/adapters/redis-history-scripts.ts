/**
 * The Lua scripts of the Redis history engine. Each runs atomically, so a
 * stream's offsets are handed out once across the cluster and the order of
 * its entries is the order of its PUBLISHes, which is the order every node
 * delivers them in.
 *
 * Keys, under the adapter's prefix P, for a stream key S (`c:<channel>` or `u:<userId>`):
 *   P:history:S       a Redis Stream: entry id `<offset>-0`, fields t (ms) and d (the message as replayed)
 *   P:history-meta:S  hash e (epoch), o (last offset): outlives the entries, so a quiet stream keeps its position
 *
 * A stream whose meta is gone (Redis restarted empty, or idle past the
 * retention) starts again with the epoch the caller proposes, at offset 0.
 * Like the adapter's other scripts these derive keys from their arguments:
 * one Redis (or a primary with replicas), not Redis Cluster. A failover to a
 * replica that missed the last writes could hand out an offset twice under
 * the same epoch: run Redis with persistence (appendonly) or WAIT where that matters.
 */

const ENSURE = `
local function ensure(P, key, candidate)
  local meta = P .. 'history-meta:' .. key
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    epoch = candidate
    redis.call('DEL', P .. 'history:' .. key)
    redis.call('HSET', meta, 'e', epoch, 'o', 0)
    return epoch, 0
  end
  return epoch, tonumber(redis.call('HGET', meta, 'o'))
end
`

/**
 * Appends one message to its streams and publishes it with its stamps.
 * ARGV: P, now, epoch candidate, retention ms, Redis channel, frame head
 * (up to the header's closing brace), payload, channel stream key ('' for
 * none), channel text, channel size, channel ttl ms, inbox size, inbox ttl
 * ms, then the inbox stream keys. Returns { channel offset (-1: none),
 * channel epoch, then offset, epoch per inbox }.
 */
export const HISTORY_APPEND = ENSURE + `
local P, now, candidate, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function add(key, text, size, ttl, isInbox)
  local epoch = ensure(P, key, candidate)
  local meta = P .. 'history-meta:' .. key
  local stream = P .. 'history:' .. key
  local offset = redis.call('HINCRBY', meta, 'o', 1)
  local digits = string.format('%d', offset)
  local body = string.sub(text, 1, -2) .. (isInbox and ',"inbox":true,"offset":' or ',"offset":') .. digits .. '}'
  redis.call('XADD', stream, 'MAXLEN', size, digits .. '-0', 't', now, 'd', body)
  redis.call('PEXPIRE', stream, ttl)
  redis.call('PEXPIRE', meta, math.max(tonumber(ttl), retention))
  return digits, epoch
end
local result = {}
local seq = {}
if ARGV[8] ~= '' then
  local offset, epoch = add(ARGV[8], ARGV[9], ARGV[10], ARGV[11], false)
  result[1], result[2] = tonumber(offset), epoch
  seq[#seq + 1] = '"channel":{"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
else
  result[1], result[2] = -1, ''
end
if #ARGV >= 14 then
  local users = {}
  for i = 14, #ARGV do
    local offset, epoch = add(ARGV[i], ARGV[7], ARGV[12], ARGV[13], true)
    result[#result + 1] = tonumber(offset)
    result[#result + 1] = epoch
    users[#users + 1] = '{"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
  end
  seq[#seq + 1] = '"users":[' .. table.concat(users, ',') .. ']'
end
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ',"seq":{' .. table.concat(seq, ',') .. '}}\\n' .. ARGV[7])
return result
`

/**
 * A stream's position and, with a position to recover from, what follows it.
 * ARGV: P, stream key, epoch candidate, retention ms, since epoch ('' for
 * none), since offset, limit, cutoff ms (older entries are gone).
 * Returns { epoch, top, status ('' | 'ok' | 'epoch_changed' | 'too_old' | 'too_many'), entries... }.
 */
export const HISTORY_READ = ENSURE + `
local P, key = ARGV[1], ARGV[2]
local epoch, top = ensure(P, key, ARGV[3])
redis.call('PEXPIRE', P .. 'history-meta:' .. key, ARGV[4])
if ARGV[5] == '' then return { epoch, top, '' } end
local since = tonumber(ARGV[6])
if ARGV[5] ~= epoch or since > top then return { epoch, top, 'epoch_changed' } end
local missed = top - since
if missed == 0 then return { epoch, top, 'ok' } end
local from = string.format('%d', since + 1) .. '-0'
local stream = P .. 'history:' .. key
local first = redis.call('XRANGE', stream, from, '+', 'COUNT', 1)
if #first == 0 or first[1][1] ~= from or tonumber(first[1][2][2]) <= tonumber(ARGV[8]) then return { epoch, top, 'too_old' } end
if missed > tonumber(ARGV[7]) then return { epoch, top, 'too_many' } end
local entries = redis.call('XRANGE', stream, from, '+', 'COUNT', missed)
if #entries ~= missed then return { epoch, top, 'too_old' } end
local result = { epoch, top, 'ok' }
for i = 1, #entries do result[#result + 1] = entries[i][2][4] end
return result
`
