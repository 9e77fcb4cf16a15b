import t from 'tap'
import { closeLabel, closeName, refusalReason, wireCodeLabel, KNOWN_REFUSAL_REASONS } from '../../lib/observability/labels.js'
import { Counters } from '../../lib/stats.js'

t.test('refusal reasons: the named ones, a later FST_REALTIME_ code by its own name, anything else "other"', async (t) => {
  t.equal(refusalReason('FST_REALTIME_UNAUTHORIZED'), 'unauthorized')
  t.equal(refusalReason('FST_REALTIME_SERVER_OVERLOADED'), 'overloaded')
  t.equal(refusalReason('FST_REALTIME_CHANNEL_FORBIDDEN'), 'channel_forbidden', 'a refusal added later needs no edit here')
  t.equal(refusalReason('FST_REALTIME_' + 'X'.repeat(100)), 'other', 'bounded in length')
  t.equal(refusalReason('ECONNRESET'), 'other')
  t.equal(refusalReason(undefined), 'other')
  t.same(KNOWN_REFUSAL_REASONS, ['unauthorized', 'forbidden_origin', 'user_limit', 'server_full', 'overloaded', 'handshake_rate_limited', 'handshake_timeout'])
})

t.test('close codes: known ones by number, the rest "other"; names for the logs', async (t) => {
  for (const code of [1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 4000, 4001, 4008, 4009, 4029, 4500, 4503]) t.equal(closeLabel(code), String(code))
  for (const code of [1004, 3000, 4002, 4999, 0]) t.equal(closeLabel(code), 'other')
  t.equal(closeName(4000), 'HEARTBEAT_TIMEOUT')
  t.equal(closeName(4500), 'DISCONNECTED_BY_SERVER')
  t.equal(closeName(1006), 'ABNORMAL')
  t.equal(closeName(3999), 'OTHER')
})

t.test('wire codes and tallies', async (t) => {
  t.equal(wireCodeLabel('INVALID_JSON'), 'INVALID_JSON')
  t.equal(wireCodeLabel('UPLOAD_NOT_FOUND'), 'other')
  const counters = new Counters()
  counters.countMessage('__proto__')
  counters.countMessage(undefined)
  counters.countMessage(undefined)
  t.same(Object.entries(counters.messagesByType), [['__proto__', 1], ['unknown', 2]], 'a type named __proto__ is a key like any other')
  t.equal(Object.getPrototypeOf(counters.messagesByType), null)
})
