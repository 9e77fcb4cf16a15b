import type { RealtimeClock, TimerHandle } from '../clock.js'

/** A clock that moves only when the test says: `advance(ms)` runs the timers that fall due, in order. */
export interface ManualClock extends RealtimeClock {
  /**
   * Moves time forward by `ms`, running every timer due by then in the
   * order of its due time (timers due together in the order they were set),
   * each with `now()` at its due time; intervals fire once per period passed.
   */
  advance (ms: number): void
  /** Timers set and not yet run or cleared (an interval counts once). */
  readonly pendingTimers: number
  /**
   * Resolves once at least `count` timers are pending: the server set the
   * timer the test is about to run out (a grace period after a close, say),
   * without a sleep.
   */
  whenPending (count: number): Promise<void>
}

interface Timer {
  readonly id: number
  dueAt: number
  readonly fn: () => void
  /** Set for an interval: its period. */
  readonly everyMs: number | undefined
}

/**
 * The test clock: starts at `startMs` (default Date.now(), so tokens signed
 * with real timestamps are valid) and never moves by itself.
 */
export function manualClock (startMs: number = Date.now()): ManualClock {
  let now = startMs
  let nextId = 1
  const timers = new Map<number, Timer>()
  const waiters: Array<{ count: number, resolve: () => void }> = []

  const add = (fn: () => void, ms: number, everyMs: number | undefined): TimerHandle => {
    const timer: Timer = { id: nextId++, dueAt: now + Math.max(0, ms), fn, everyMs }
    timers.set(timer.id, timer)
    for (const waiter of [...waiters]) {
      if (timers.size < waiter.count) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
    return { id: timer.id }
  }
  const clear = (handle: TimerHandle): void => {
    const id = (handle as { id?: unknown } | null | undefined)?.id
    if (typeof id === 'number') timers.delete(id)
  }
  /** The earliest timer due by `until`: due time first, then the order it was set in. */
  const nextDue = (until: number): Timer | undefined => {
    let next: Timer | undefined
    for (const timer of timers.values()) {
      if (timer.dueAt <= until && (next === undefined || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.id < next.id))) next = timer
    }
    return next
  }

  return {
    now: () => now,
    setTimeout: (fn, ms) => add(fn, ms, undefined),
    clearTimeout: clear,
    // a period of 0 would fire forever within one advance: at least 1 ms
    setInterval: (fn, ms) => add(fn, ms, Math.max(1, ms)),
    clearInterval: clear,
    advance (ms: number): void {
      const until = now + ms
      for (let timer = nextDue(until); timer !== undefined; timer = nextDue(until)) {
        now = timer.dueAt
        if (timer.everyMs === undefined) timers.delete(timer.id)
        else timer.dueAt += timer.everyMs
        timer.fn()
      }
      now = until
    },
    get pendingTimers (): number {
      return timers.size
    },
    whenPending (count: number): Promise<void> {
      if (timers.size >= count) return Promise.resolve()
      return new Promise((resolve) => { waiters.push({ count, resolve }) })
    }
  }
}
