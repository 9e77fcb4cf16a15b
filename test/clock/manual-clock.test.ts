import t from 'tap'
import { manualClock } from '../../lib/testing/index.js'
import { resolveOptions, MemoryPresence, type PresenceChange, type RealtimeClock } from '../../lib/index.js'
import { systemClock, unrefTimer, isRealtimeClock } from '../../lib/clock.js'

t.test('advance runs due timers in order of due time, then of setting, each at its due time', async (t) => {
  const clock = manualClock(1000)
  const ran: string[] = []
  clock.setTimeout(() => ran.push(`b@${clock.now()}`), 20)
  clock.setTimeout(() => ran.push(`a@${clock.now()}`), 10)
  clock.setTimeout(() => ran.push(`c@${clock.now()}`), 20)
  clock.setTimeout(() => ran.push(`late@${clock.now()}`), 31)
  clock.advance(30)
  t.same(ran, ['a@1010', 'b@1020', 'c@1020'])
  t.equal(clock.now(), 1030, 'now is where advance said')
  t.equal(clock.pendingTimers, 1)
  clock.advance(1)
  t.same(ran.at(-1), 'late@1031')
  t.equal(clock.pendingTimers, 0)
})

t.test('an interval fires once per period passed until cleared; a timer set by a timer runs in the same advance when due', async (t) => {
  const clock = manualClock(0)
  const at: number[] = []
  const every = clock.setInterval(() => at.push(clock.now()), 10)
  clock.setTimeout(() => clock.setTimeout(() => at.push(-clock.now()), 5), 12)
  clock.advance(35)
  t.same(at, [10, -17, 20, 30])
  clock.clearInterval(every)
  clock.advance(100)
  t.same(at, [10, -17, 20, 30], 'nothing after clearInterval')
  const zero = clock.setInterval(() => at.push(clock.now()), 0)
  clock.advance(2)
  clock.clearInterval(zero)
  t.same(at.slice(4), [135, 136, 137], 'a period of 0 fires every ms, not forever')
})

t.test('clearTimeout forgets a timer; clearing what is not a handle does nothing', async (t) => {
  const clock = manualClock()
  t.ok(Math.abs(clock.now() - Date.now()) < 1000, 'starts at the real time by default')
  let ran = false
  const handle = clock.setTimeout(() => { ran = true }, 5)
  clock.clearTimeout(handle)
  clock.clearTimeout(undefined)
  clock.clearTimeout(null)
  clock.clearTimeout(42)
  clock.advance(10)
  t.equal(ran, false)
  t.equal(clock.pendingTimers, 0)
})

t.test('whenPending resolves once enough timers are set', async (t) => {
  const clock = manualClock(0)
  await clock.whenPending(0)
  const two = clock.whenPending(2)
  const one = clock.whenPending(1)
  clock.setTimeout(() => {}, 1)
  await one
  let isTwo = false
  void two.then(() => { isTwo = true })
  await Promise.resolve()
  t.equal(isTwo, false, 'two is still waiting')
  clock.setInterval(() => {}, 1)
  await two
  t.pass('both resolved')
})

t.test('the clock option: the real clock when unset, a RealtimeClock when given, an error naming it otherwise', async (t) => {
  t.equal(resolveOptions({}).clock, systemClock, 'unset: the real clock')
  const clock = manualClock()
  t.equal(resolveOptions({ clock }).clock, clock)
  for (const bad of [null, 42, {}, { ...clock, setInterval: 'no' }]) {
    t.throws(() => resolveOptions({ clock: bad as unknown as RealtimeClock }), { code: 'FST_REALTIME_OPTIONS_INVALID', message: /clock must implement RealtimeClock/ })
  }
  t.equal(isRealtimeClock(systemClock), true)
})

t.test('the real clock is Date.now() and Node\'s timers; unrefTimer unrefs what can be', async (t) => {
  // the timer awaited below is unref'd on purpose: this one holds the process open meanwhile
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  t.ok(Math.abs(systemClock.now() - Date.now()) < 1000)
  await new Promise<void>((resolve) => {
    const handle = systemClock.setTimeout(resolve, 1)
    unrefTimer(handle)
    t.equal((handle as NodeJS.Timeout).hasRef(), false)
  })
  const never = systemClock.setTimeout(() => t.fail('cleared'), 1)
  systemClock.clearTimeout(never)
  let ticks = 0
  await new Promise<void>((resolve) => {
    const every = systemClock.setInterval(() => {
      if (++ticks < 2) return
      systemClock.clearInterval(every)
      resolve()
    }, 1)
  })
  t.equal(ticks, 2)
  unrefTimer(manualClock().setTimeout(() => {}, 1))
  t.pass('a handle without unref is left alone')
})

t.test('MemoryPresence takes its grace timers from the context\'s clock, the real one without, and `now` when given', async (t) => {
  const log = { warn () {}, error () {}, info () {}, debug () {} } as never
  const clock = manualClock(5000)
  const changes: PresenceChange[] = []
  const timed = new MemoryPresence({ offlineGraceMs: 100, log, clock, changed: (change) => changes.push(change) })
  await timed.join('alice', 'c1', ['users'])
  await timed.leave('alice', 'c1', ['users'])
  clock.advance(99)
  t.equal(await timed.isPresent('users', 'alice'), true, 'within the grace')
  clock.advance(1)
  t.same(changes.map(c => `${c.status}@${c.at}`), ['online@5000', 'offline@5100'])

  const stamped = new MemoryPresence({ offlineGraceMs: 0, log, changed: (change) => changes.push(change) }, () => 7)
  await stamped.join('bob', 'c2', ['users'])
  t.equal(changes.at(-1)?.at, 7, 'now as given')
  await stamped.leave('bob', 'c2', ['users'])
  t.same(changes.at(-1), { scope: 'users', userId: 'bob', status: 'offline', at: 7 }, 'no grace: offline at once')
  const real = new MemoryPresence({ offlineGraceMs: 60000, log, changed: () => {} })
  await real.join('carol', 'c3', ['users'])
  await real.leave('carol', 'c3', ['users'])
  await real.close()
  t.equal(await real.isPresent('users', 'carol'), false)
})
