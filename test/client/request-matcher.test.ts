// The request matcher alone: ids, answers by the id the server echoes, the
// per-request timeout, and what a lost connection or a stop leaves (a fake clock, no sockets).
import t from 'tap'
import { ClientErrorCode, type RealtimeClientError } from '../../lib/client/index.js'
import { RequestMatcher, type PendingRequest, type RequestKind } from '../../lib/client/request-matcher.js'
import { FakeClock } from './support.js'

const NO_LISTS = { events: [], channels: [] }

function subject (timeoutMs = 1000): { matcher: RequestMatcher, clock: FakeClock, timedOut: Array<[PendingRequest, RealtimeClientError]> } {
  const clock = new FakeClock()
  const timedOut: Array<[PendingRequest, RealtimeClientError]> = []
  const matcher = new RequestMatcher({ clock, timeoutMs, timedOut: (request, error) => timedOut.push([request, error]) })
  return { matcher, clock, timedOut }
}

/** A request and what settled it. */
function pending (matcher: RequestMatcher, kind: RequestKind, isInternal = false, data?: object): { request: PendingRequest, settled: unknown[] } {
  const settled: unknown[] = []
  const request = matcher.create(kind, kind === 'subscribe' ? { events: ['a'], channels: [] } : NO_LISTS, isInternal, {
    resolve: (value) => settled.push(['resolved', value]),
    reject: (error) => settled.push(['rejected', error])
  }, data)
  return { request, settled }
}

t.test('ids: a letter by kind and one counter per client, shared with heartbeat ids', async (t) => {
  const { matcher } = subject()
  t.same(['subscribe', 'unsubscribe', 'ping', 'presence'].map(kind => pending(matcher, kind as RequestKind).request.id), ['s1', 's2', 'p3', 'q4'])
  t.equal(matcher.nextId('hb'), 'hb5')
  const { request } = pending(matcher, 'presence', false, { channel: 'room:1' })
  t.same(request.data, { channel: 'room:1' }, 'given data is kept for the frame')
  t.notOk('data' in pending(matcher, 'ping').request, 'no data key otherwise')
})

t.test('a reply answers the request whose id it echoes, of the kind it answers', async (t) => {
  const { matcher, clock } = subject()
  const subscribe = pending(matcher, 'subscribe')
  const unsubscribe = pending(matcher, 'unsubscribe')
  const presence = pending(matcher, 'presence')
  const ping = pending(matcher, 'ping')
  clock.advance(5)
  for (const { request } of [subscribe, unsubscribe, presence, ping]) matcher.sent(request)
  t.equal(ping.request.sentAt, 5, 'sentAt is when it was written')

  t.equal(matcher.answer('unsubscription.confirmed', { request_id: subscribe.request.id }), undefined, 'another kind\'s reply')
  t.equal(matcher.answer('subscription.confirmed', { request_id: 'unknown' }), undefined, 'an id nobody awaits')
  t.equal(matcher.answer('subscription.confirmed', {}), undefined, 'no id (a subscribe sent with send())')
  t.equal(matcher.answer('pong', { request_id: ping.request.id }), undefined, 'a pong is matched by its pingId, not request_id')
  t.equal(matcher.answer('pong', { pingId: 3 }), undefined, 'a number pingId is not one of ours')
  t.equal(matcher.answer('pong', { pingId: 'hb9' }), undefined, 'a heartbeat\'s pong answers nothing')

  t.equal(matcher.answer('subscription.confirmed', { request_id: subscribe.request.id }), subscribe.request)
  t.equal(matcher.answer('subscription.confirmed', { request_id: subscribe.request.id }), undefined, 'answered once only')
  t.equal(matcher.answer('unsubscription.confirmed', { request_id: unsubscribe.request.id }), unsubscribe.request)
  t.equal(matcher.answer('presence.state', { request_id: presence.request.id }), presence.request)
  t.equal(matcher.answer('pong', { pingId: ping.request.id }), ping.request)
  t.equal(clock.pendingTimers, 0, 'every answered request\'s timer is stopped')
  t.same([subscribe, unsubscribe, presence, ping].map(({ settled }) => settled), [[], [], [], []], 'settling is the caller\'s')
})

t.test('an error answers a request of any kind', async (t) => {
  const { matcher } = subject()
  for (const kind of ['subscribe', 'unsubscribe', 'ping', 'presence'] as const) {
    const { request } = pending(matcher, kind)
    matcher.sent(request)
    t.equal(matcher.answer('error', { request_id: request.id }), request, kind)
  }
  t.equal(matcher.answer('error', {}), undefined, 'an error without an id answers nothing')
})

t.test('no answer within the timeout: the request is forgotten and reported', async (t) => {
  const { matcher, clock, timedOut } = subject(500)
  const { request, settled } = pending(matcher, 'subscribe')
  matcher.sent(request)
  clock.advance(499)
  t.same(timedOut, [])
  clock.advance(1)
  t.equal(timedOut.length, 1)
  const [[which, error]] = timedOut as [[PendingRequest, RealtimeClientError]]
  t.equal(which, request)
  t.match(error, { code: ClientErrorCode.timeout, message: 'no answer to subscribe within 500 ms', requestId: 's1' })
  t.equal(request.timer, undefined)
  t.same(settled, [], 'the caller decides whom to tell')
  t.equal(matcher.answer('subscription.confirmed', { request_id: 's1' }), undefined, 'a late answer answers nothing')
})

t.test('a lost connection: every request is forgotten, those the app awaits are handed back in order', async (t) => {
  const { matcher, clock } = subject()
  const first = pending(matcher, 'subscribe')
  const restore = pending(matcher, 'subscribe', true)
  const second = pending(matcher, 'ping')
  for (const { request } of [first, restore, second]) matcher.sent(request)
  t.same(matcher.release().map(request => request.id), ['s1', 'p3'], 'a restore is redone from the subscriptions instead')
  t.equal(clock.pendingTimers, 0)
  t.equal(first.request.timer, undefined)
  t.same(matcher.release(), [], 'nothing left')
  t.equal(matcher.answer('pong', { pingId: 'p3' }), undefined)
})

t.test('a stop drains every request, restores included', async (t) => {
  const { matcher, clock } = subject()
  const requests = [pending(matcher, 'subscribe'), pending(matcher, 'subscribe', true)].map(({ request }) => request)
  for (const request of requests) matcher.sent(request)
  t.same(matcher.drain(), requests)
  t.equal(clock.pendingTimers, 0)
  t.same(matcher.drain(), [])
  const unsent = pending(matcher, 'ping').request
  t.same(matcher.drain(), [], 'a request not yet written is not in flight')
  t.equal(unsent.timer, undefined)
})
