import t from 'tap'
import fc from 'fast-check'
import { SlidingWindowRateLimiter } from '../lib/rate-limiter.js'
import { startServer } from './helpers/server.js'

// The seed's promise: at most `max` messages in any `windowMs`, and a
// `retry_after` a client can trust. Proved here on the pure limiter with
// properties over arbitrary arrival sequences, then once over real sockets.

const SEED = Number(process.env.RATE_LIMIT_SEED ?? 20250907)
const RUNS = Number(process.env.RATE_LIMIT_RUNS ?? 300)
t.comment(`fast-check seed ${SEED} (RATE_LIMIT_SEED=... to replay), ${RUNS} runs per property`)

interface Decision { at: number, retryAfterMs: number }

/** Feeds `times` to a fresh limiter for one key; returns every decision. */
function run (max: number, windowMs: number, times: number[]): Decision[] {
  const limiter = new SlidingWindowRateLimiter({ max, windowMs })
  return times.map(at => ({ at, retryAfterMs: limiter.consume('u', at) }))
}

/** Accepted messages in the half-open interval [from, from + windowMs). */
function inWindow (accepted: number[], from: number, windowMs: number): number {
  return accepted.filter(at => at >= from && at < from + windowMs).length
}

const limits = fc.record({
  max: fc.integer({ min: 1, max: 12 }),
  windowMs: fc.integer({ min: 1, max: 1000 })
})

/** Non-decreasing arrival times: gaps from 0 (a burst) to past a whole window (silence). */
function arrivals (windowMs: number): fc.Arbitrary<number[]> {
  const gap = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: Math.max(1, Math.ceil(windowMs / 8)) }), fc.integer({ min: 0, max: 2 * windowMs }))
  return fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.array(gap, { maxLength: 120 })).map(([start, gaps]) => {
    let at = start
    return gaps.map(g => (at += g))
  })
}

const scenario = limits.chain(({ max, windowMs }) => arrivals(windowMs).map(times => ({ max, windowMs, times })))
const params = { seed: SEED, numRuns: RUNS }

t.test('property: no half-open interval of windowMs holds more than max accepted messages', async (t) => {
  fc.assert(fc.property(scenario, ({ max, windowMs, times }) => {
    const accepted = run(max, windowMs, times).filter(d => d.retryAfterMs === 0).map(d => d.at)
    // the fullest window can always be slid right until it starts at an accepted message
    return accepted.every(from => inWindow(accepted, from, windowMs) <= max)
  }), params)
  t.pass('held for every sequence')
})

t.test('property: a message is refused only if accepting it would put max + 1 in some window', async (t) => {
  fc.assert(fc.property(scenario, ({ max, windowMs, times }) => {
    const accepted: number[] = []
    for (const { at, retryAfterMs } of run(max, windowMs, times)) {
      // the window ending at this message: (at - windowMs, at]
      const wouldHold = accepted.filter(a => a > at - windowMs).length + 1
      if (retryAfterMs === 0) accepted.push(at)
      else if (wouldHold <= max) return false
    }
    return true
  }), params)
  t.pass('held for every sequence')
})

t.test('property: retry_after is exact: refused 1 ms before it, accepted at it', async (t) => {
  fc.assert(fc.property(scenario, ({ max, windowMs, times }) => {
    const decisions = run(max, windowMs, times)
    return decisions.every(({ at, retryAfterMs }, i) => {
      if (retryAfterMs === 0) return true
      if (!Number.isInteger(retryAfterMs) || retryAfterMs < 1 || retryAfterMs > windowMs) return false
      // replay what came before this refusal, then probe with no other arrivals
      const limiter = new SlidingWindowRateLimiter({ max, windowMs })
      for (const earlier of times.slice(0, i)) limiter.consume('u', earlier)
      return limiter.consume('u', at) === retryAfterMs &&
        limiter.consume('u', at + retryAfterMs - 1) > 0 &&
        limiter.consume('u', at + retryAfterMs) === 0
    })
  }), params)
  t.pass('held for every refusal')
})

t.test('property: keys are independent, and prune never changes a decision', async (t) => {
  const interleaved = limits.chain(({ max, windowMs }) => fc.record({
    max: fc.constant(max),
    windowMs: fc.constant(windowMs),
    times: arrivals(windowMs),
    keys: fc.infiniteStream(fc.constantFrom('a', 'b', 'c')),
    prunes: fc.infiniteStream(fc.boolean())
  }))
  fc.assert(fc.property(interleaved, ({ max, windowMs, times, keys, prunes }) => {
    const shared = new SlidingWindowRateLimiter({ max, windowMs })
    const alone = new Map<string, SlidingWindowRateLimiter>()
    const keyOf = keys[Symbol.iterator]()
    const pruneOf = prunes[Symbol.iterator]()
    for (const at of times) {
      const key = keyOf.next().value as string
      if (pruneOf.next().value === true) shared.prune(at)
      let own = alone.get(key)
      if (own === undefined) alone.set(key, own = new SlidingWindowRateLimiter({ max, windowMs }))
      if (shared.consume(key, at) !== own.consume(key, at)) return false
    }
    const last = times.at(-1) ?? 0
    shared.prune(last + windowMs)
    return shared.size === 0
  }), params)
  t.pass('held for every interleaving')
})

t.test('no 2x burst across a fixed-window boundary (the two-counter approximation admitted 199 of max 100)', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 100, windowMs: 60_000 })
  for (let i = 0; i < 100; i++) t.equal(limiter.consume('u', 59_999), 0)
  // 59,998 ms later the first 100 are still inside the window [59 999, 119 999)
  let accepted = 0
  for (let i = 0; i < 100; i++) if (limiter.consume('u', 119_997) === 0) accepted++
  t.equal(accepted, 0, 'nothing more until the first burst has slid out')
  t.equal(limiter.consume('u', 119_997), 2, 'retry in 2 ms: when the first burst leaves the window')
  t.equal(limiter.consume('u', 119_999), 0, 'and then accepted')
})

t.test('allows max messages per window, then says exactly how long to wait', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 3, windowMs: 1000 })
  t.equal(limiter.consume('u', 0), 0)
  t.equal(limiter.consume('u', 10), 0)
  t.equal(limiter.consume('u', 20), 0)
  t.equal(limiter.consume('u', 30), 970, 'until the message at 0 leaves the window')
  t.equal(limiter.consume('other', 30), 0, 'keys are independent')
  t.equal(limiter.consume('u', 999), 1)
  t.equal(limiter.consume('u', 1000), 0, 'one slot freed at 1000')
  t.equal(limiter.consume('u', 1000), 10, 'the next slot frees when the message at 10 leaves')
})

t.test('the ring grows lazily up to max and wraps around', async (t) => {
  const max = 50
  const limiter = new SlidingWindowRateLimiter({ max, windowMs: 100 })
  // a steady sender at exactly the limit, for many windows: every message accepted, the ring wraps
  const refusedAt: number[] = []
  for (let at = 0; at < 10_000; at += 2) if (limiter.consume('u', at) !== 0) refusedAt.push(at)
  t.same(refusedAt, [], 'max per window, spread evenly, is always accepted')
  t.ok(limiter.consume('u', 9_998) > 0, 'the 51st in a window is refused')
})

t.test('a clock that steps back neither breaks the limit nor locks the user out', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 2, windowMs: 1000 })
  t.equal(limiter.consume('u', 5000), 0)
  t.equal(limiter.consume('u', 4900), 0, 'a small step back counts at the newest time seen')
  t.equal(limiter.consume('u', 4950), 1050, 'still at most max in the window: wait until 5000 + 1000')
  t.equal(limiter.consume('u', 1000), 0, 'a step back by more than a window starts the user afresh')
})

t.test('after a long silence the state starts fresh', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 2, windowMs: 1000 })
  limiter.consume('u', 0)
  limiter.consume('u', 1)
  t.equal(limiter.consume('u', 5000), 0)
  t.equal(limiter.consume('u', 5001), 0)
})

t.test('prune forgets keys whose newest message left the window, and only those', async (t) => {
  const limiter = new SlidingWindowRateLimiter({ max: 2, windowMs: 1000 })
  limiter.consume('old', 0)
  limiter.consume('recent', 1500)
  limiter.prune(999)
  t.equal(limiter.size, 2, 'the message at 0 is still in the window at 999')
  limiter.prune(1000)
  t.equal(limiter.size, 1)
  limiter.prune(2500)
  t.equal(limiter.size, 0)
})

t.test('over real sockets: max accepted, the next refused with a retry_after that holds', async (t) => {
  const server = await startServer(t, { realtime: { rateLimit: { max: 5, windowMs: 2000 } } })
  const client = await server.connect('chatty')
  for (let i = 0; i < 5; i++) {
    const pong = await client.request({ type: 'ping', data: { pingId: i } }, 'pong')
    t.equal(pong.data.pingId, i)
  }
  const refused = await client.request({ type: 'ping', id: 'six' }, 'error')
  t.match(refused.data, { code: 'RATE_LIMIT_EXCEEDED', request_id: 'six' })
  const retryAfter = refused.data.retry_after as number
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 2, `retry_after ${retryAfter} s is within the 2 s window`)
  t.equal(client.ws.readyState, client.ws.OPEN, 'the connection stays open')
  t.equal(server.app.realtime.stats().rateLimited, 1, 'counted in stats')
  // a well-behaved client waits what it was told (a timer here is the client's behaviour under test)
  await new Promise(resolve => setTimeout(resolve, retryAfter * 1000))
  const pong = await client.request({ type: 'ping', data: { pingId: 'after' } }, 'pong')
  t.equal(pong.data.pingId, 'after', 'accepted once retry_after has passed')
})
