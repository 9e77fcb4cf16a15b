// The sweep as a plain function: fake connections, a `now` the test picks.
import t from 'tap'
import { sweep, sweepTickMs, SweepTimer, type Sweepable, type SweepOptions } from '../../lib/heartbeat-sweep.js'
import { systemClock } from '../../lib/clock.js'

class FakeConnection implements Sweepable {
  readonly name: string
  lastSeenAt: number
  pingSentAt = 0
  readonly expiresAt: number
  readonly pings: number[] = []
  constructor (name: string, lastSeenAt: number, expiresAt = Infinity) {
    this.name = name
    this.lastSeenAt = lastSeenAt
    this.expiresAt = expiresAt
  }

  ping (now: number): void {
    this.pingSentAt = now
    this.pings.push(now)
  }
}

const options: SweepOptions = { heartbeatIntervalMs: 100, connectionTimeoutMs: 300, closeOnTokenExpiry: true, clockToleranceMs: 0 }

/** Runs one sweep over `connections`, removing the closed ones as the node does. */
function run (now: number, connections: Set<FakeConnection>, sweepOptions: SweepOptions = options): { timedOut: string[], expired: string[], after: number[] } {
  const result = { timedOut: [] as string[], expired: [] as string[], after: [] as number[] }
  sweep(now, sweepOptions, {
    connections: () => connections,
    onTimeout: (c) => { result.timedOut.push(c.name); connections.delete(c) },
    onExpired: (c) => { result.expired.push(c.name); connections.delete(c) },
    afterSweep: (at) => { result.after.push(at) }
  })
  return result
}

t.test('a connection quiet for the interval is pinged once, not again until it answers', async (t) => {
  const quiet = new FakeConnection('quiet', 950)
  const busy = new FakeConnection('busy', 950)
  const connections = new Set([quiet, busy])
  t.same(run(1000, connections), { timedOut: [], expired: [], after: [1000] })
  t.same(quiet.pings, [], 'quiet for less than the interval')
  busy.lastSeenAt = 1040
  run(1050, connections)
  t.same(quiet.pings, [1050], 'quiet for the interval: pinged')
  busy.lastSeenAt = 1090
  run(1100, connections)
  t.same(quiet.pings, [1050], 'a ping is out: not another')
  quiet.lastSeenAt = 1120
  busy.lastSeenAt = 1200
  run(1220, connections)
  t.same(quiet.pings, [1050, 1220], 'answered, quiet again: pinged again')
  t.same(busy.pings, [], 'a connection that keeps talking is never pinged')
  t.equal(connections.size, 2, 'nobody timed out')
})

t.test('silent past the timeout: closed (after the loop, so the set can shrink); the expired token next; afterSweep last', async (t) => {
  const silent = new FakeConnection('silent', 0)
  const alsoSilent = new FakeConnection('also silent', 10, 50)
  const expired = new FakeConnection('expired', 900, 1000)
  const fine = new FakeConnection('fine', 990, 5000)
  const connections = new Set([silent, alsoSilent, expired, fine])
  t.same(run(1000, connections), { timedOut: ['silent', 'also silent'], expired: ['expired'], after: [1000] }, 'a timeout wins over an expired token')
  t.same([...connections].map(c => c.name), ['fine'])
  t.same(expired.pings, [], 'an expired connection is not pinged first')
})

t.test('token expiry: at expiresAt + clockToleranceMs, and never with closeOnTokenExpiry off', async (t) => {
  const connection = (): FakeConnection => new FakeConnection('token', 990, 1000)
  const tolerant = { ...options, clockToleranceMs: 50 }
  t.same(run(1049, new Set([connection()]), tolerant).expired, [], 'within the tolerance')
  t.same(run(1050, new Set([connection()]), tolerant).expired, ['token'], 'at its end')
  t.same(run(1000, new Set([connection()])).expired, ['token'], 'no tolerance: at expiresAt')
  t.same(run(5000, new Set([new FakeConnection('token', 4990, 1000)]), { ...options, closeOnTokenExpiry: false }).expired, [])
})

t.test('an empty node still runs afterSweep', async (t) => {
  t.same(run(7, new Set()), { timedOut: [], expired: [], after: [7] })
})

t.test('sweepTickMs: half the interval, between 5 ms and a second', async (t) => {
  t.equal(sweepTickMs(30_000), 1000)
  t.equal(sweepTickMs(2000), 1000)
  t.equal(sweepTickMs(1000), 500)
  t.equal(sweepTickMs(301), 150)
  t.equal(sweepTickMs(10), 5)
  t.equal(sweepTickMs(1), 5)
})

t.test('SweepTimer runs on its tick until stopped; start again replaces the timer', async (t) => {
  const timer = new SweepTimer(systemClock)
  // the sweep's timer is unref'd (it never keeps a process alive): this one holds the test open meanwhile
  const keepAlive = setTimeout(() => {}, 5000)
  t.teardown(() => clearTimeout(keepAlive))
  let runs = 0
  await new Promise<void>((resolve) => {
    timer.start(5, () => { if (++runs === 3) resolve() })
  })
  let replaced = 0
  await new Promise<void>((resolve) => {
    timer.start(5, () => { replaced++; resolve() })
  })
  timer.stop()
  timer.stop()
  t.equal(runs, 3, 'the first timer stopped when the second started')
  t.ok(replaced >= 1)
})
