import t from 'tap'
import { SlidingWindowRateLimiter } from '../lib/index.js'

t.test('allows max messages per window, then says how long to wait', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 3, windowMs: 1000 })
  t.equal(limiter.consume('u', 0), 0)
  t.equal(limiter.consume('u', 10), 0)
  t.equal(limiter.consume('u', 20), 0)
  const wait = limiter.consume('u', 30)
  t.ok(wait > 0 && wait <= 2000, `wait ${wait}`)
  t.equal(limiter.consume('other', 30), 0, 'keys are independent')
})

t.test('the window slides: the previous window still counts, weighted by its overlap', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 10, windowMs: 1000 })
  for (let i = 0; i < 10; i++) t.equal(limiter.consume('u', 900 + i), 0)
  // just after the boundary, nearly all of the previous window overlaps the sliding window
  t.ok(limiter.consume('u', 1001) > 0, 'no burst of 2x max across a window boundary')
  // half-way through, half of the previous window's 10 still count: 5 more fit
  let allowed = 0
  for (let i = 0; i < 10; i++) if (limiter.consume('u', 1500) === 0) allowed++
  t.equal(allowed, 5, 'only what the sliding window leaves room for')
  t.equal(limiter.consume('u', 2999), 0, 'a window later the old messages have slid out')
})

t.test('the retry time is when a message would really be allowed', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 4, windowMs: 1000 })
  for (let i = 0; i < 4; i++) limiter.consume('u', 100)
  const wait = limiter.consume('u', 200)
  t.ok(wait > 0)
  t.ok(limiter.consume('u', 200 + wait - 2) > 0, 'not before')
  t.equal(limiter.consume('u', 200 + wait + 1), 0, 'allowed right after')
})

t.test('after a long silence the state starts fresh', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 2, windowMs: 1000 })
  limiter.consume('u', 0)
  limiter.consume('u', 1)
  t.equal(limiter.consume('u', 5000), 0)
  t.equal(limiter.consume('u', 5001), 0)
})

t.test('prune forgets keys whose windows are over, and only those', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 2, windowMs: 1000 })
  limiter.consume('old', 0)
  limiter.consume('recent', 1500)
  limiter.prune(2100)
  t.equal(limiter.size, 1)
  limiter.prune(3500)
  t.equal(limiter.size, 0)
})
