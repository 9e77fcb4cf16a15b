import t from 'tap'
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from '../../lib/client/index.js'

const options = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 }

t.test('the ceiling doubles per attempt and stops at the cap', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 10, 1000].map(attempt => backoffCeiling(attempt, options)), [100, 200, 400, 800, 1000, 1000, 1000, 1000])
  t.equal(backoffCeiling(-3, options), 100, 'a negative attempt counts as the first')
  t.equal(backoffCeiling(1e9, { initialDelayMs: 1, maxDelayMs: 5, multiplier: 10 }), 5, 'huge powers stay capped')
})

t.test('full jitter: the delay is drawn from [0, ceiling)', async (t) => {
  t.equal(backoffDelay(3, options, () => 0), 0)
  t.equal(backoffDelay(3, options, () => 0.5), 400)
  t.equal(backoffDelay(3, options, () => 0.999999), 799)
  for (let attempt = 0; attempt < 20; attempt++) {
    const delay = backoffDelay(attempt, options)
    t.ok(delay >= 0 && delay < backoffCeiling(attempt, options), `attempt ${attempt}: ${delay} within bounds`)
  }
})

t.test('the defaults: 1 s first ceiling, doubling, 5 s cap (back within seconds of a restart)', async (t) => {
  t.same(DEFAULT_BACKOFF, { initialDelayMs: 1000, maxDelayMs: 5000, multiplier: 2 })
  t.same([0, 1, 2, 3, 20].map(attempt => backoffCeiling(attempt)), [1000, 2000, 4000, 5000, 5000])
  t.equal(backoffDelay(0, undefined, () => 0.5), 500)
  t.equal(backoffDelay(20, undefined, () => 0.999999), 4999, 'never longer than the cap')
})
