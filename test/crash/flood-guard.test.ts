import t from 'tap'
import { ANSWER_INTERVAL_MS, FloodGuard, Verdict, type RateLimiterLike, type RefusalState } from '../../lib/flood-guard.js'

// The per-connection policy for refused messages, as a pure function of
// time: one answer per interval, silence in between (the limiter is not
// even asked), a close past the flood bound, a window that starts over.

/** A limiter that refuses until `openAt`, then allows everything. */
function limiterClosedUntil (openAt: { value: number }): RateLimiterLike & { calls: number } {
  return {
    calls: 0,
    consume (_key, now) {
      this.calls++
      return now < openAt.value ? openAt.value - now : 0
    }
  }
}

function holder (): { refusals: RefusalState | undefined } {
  return { refusals: undefined }
}

t.test('one answer per interval, dropped unread in between, and the limiter is not asked meanwhile', async (t) => {
  const openAt = { value: 10_000 }
  const limiter = limiterClosedUntil(openAt)
  const guard = new FloodGuard(limiter, { max: 5, windowMs: 60_000, floodFactor: 10 })
  const connection = holder()
  t.equal(guard.check(connection, 'u', 0), Verdict.answer)
  t.equal(connection.refusals?.allowedAt, 10_000)
  for (let now = 1; now < ANSWER_INTERVAL_MS; now += 100) t.equal(guard.check(connection, 'u', now), Verdict.drop)
  t.equal(limiter.calls, 1, 'dropped messages cost no limiter call')
  t.equal(guard.check(connection, 'u', ANSWER_INTERVAL_MS), Verdict.answer, 'the next interval is answered again')
  t.equal(limiter.calls, 2)
})

t.test('quiet never outlasts the limit: once it is over, the limiter decides again', async (t) => {
  const openAt = { value: 300 }
  const guard = new FloodGuard(limiterClosedUntil(openAt), { max: 5, windowMs: 60_000, floodFactor: 10 })
  const connection = holder()
  t.equal(guard.check(connection, 'u', 0), Verdict.answer)
  t.equal(connection.refusals?.quietUntil, 300)
  t.equal(guard.check(connection, 'u', 299), Verdict.drop)
  t.equal(guard.check(connection, 'u', 300), Verdict.accept, 'accepted at the first moment the limiter allows')
  t.equal(connection.refusals?.isOwed, false, 'the accepted message answers for the dropped one')
  t.ok(connection.refusals !== undefined, 'kept while its flood window lasts')
  t.equal(guard.check(connection, 'u', 60_000), Verdict.accept)
  t.equal(connection.refusals, undefined, 'forgotten once the window is over')
})

t.test('owed answers: only after the interval, only if something was dropped', async (t) => {
  const guard = new FloodGuard(limiterClosedUntil({ value: 5000 }), { max: 5, windowMs: 60_000, floodFactor: 10 })
  const connection = holder()
  guard.check(connection, 'u', 0)
  const state = connection.refusals as RefusalState
  t.equal(guard.owedAnswer(state, 2000), undefined, 'nothing dropped: nothing owed')
  guard.check(connection, 'u', 10)
  t.equal(guard.owedAnswer(state, 500), undefined, 'not before the interval is over')
  t.equal(guard.owedAnswer(state, ANSWER_INTERVAL_MS), 5000 - ANSWER_INTERVAL_MS, 'the time left, once')
  t.equal(guard.owedAnswer(state, ANSWER_INTERVAL_MS + 1), undefined)
  t.equal(guard.check(connection, 'u', ANSWER_INTERVAL_MS + 1), Verdict.drop, 'the owed answer started a new quiet interval')
  t.equal(guard.owedAnswer(state, 6000), 1, 'after the limit, still at least 1 ms')
})

t.test('more than max x floodFactor refusals in a window close; a new window starts the count over', async (t) => {
  const guard = new FloodGuard(limiterClosedUntil({ value: Infinity }), { max: 2, windowMs: 1000, floodFactor: 3 })
  const connection = holder()
  const verdicts = Array.from({ length: 7 }, (_, i) => guard.check(connection, 'u', i))
  t.same(verdicts, [Verdict.answer, Verdict.drop, Verdict.drop, Verdict.drop, Verdict.drop, Verdict.drop, Verdict.close])
  const later = holder()
  for (let i = 0; i < 6; i++) guard.check(later, 'u', i)
  t.equal(guard.check(later, 'u', 1000), Verdict.answer, 'the window is over: counted from one again')
  t.equal(later.refusals?.refused, 1)

  const never = new FloodGuard(limiterClosedUntil({ value: Infinity }), { max: 2, windowMs: 1000, floodFactor: 0 })
  const patient = holder()
  t.notOk(Array.from({ length: 100 }, (_, i) => never.check(patient, 'u', i)).includes(Verdict.close), 'floodFactor 0 never closes')
})

t.test('a flood can also be reached at an answered refusal, not only at a dropped one', async (t) => {
  // one refusal per interval, each answered: the second already passes max x floodFactor = 1
  const guard = new FloodGuard(limiterClosedUntil({ value: 60_000 }), { max: 1, windowMs: 60_000, floodFactor: 1 })
  const connection = holder()
  t.equal(guard.check(connection, 'u', 0), Verdict.answer)
  t.equal(guard.check(connection, 'u', ANSWER_INTERVAL_MS), Verdict.close)
})
