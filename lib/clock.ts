/**
 * Time as the server sees it: `now()` and the timers of the heartbeat sweep,
 * the handshake deadline and presence grace periods. The real one by
 * default; a test passes its own (`manualClock()` from fastify-realtime/testing)
 * to move time forward without waiting.
 */

/** Whatever the clock's setTimeout or setInterval returned, handed back to clear it. */
export type TimerHandle = unknown

export interface RealtimeClock {
  /** Milliseconds since the epoch, like Date.now(). */
  now (): number
  setTimeout (fn: () => void, ms: number): TimerHandle
  clearTimeout (handle: TimerHandle): void
  setInterval (fn: () => void, ms: number): TimerHandle
  clearInterval (handle: TimerHandle): void
}

/** The real clock: Date.now() and Node's timers. */
export const systemClock: RealtimeClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn: () => void, ms: number): TimerHandle => setInterval(fn, ms),
  clearInterval: (handle: TimerHandle): void => clearInterval(handle as NodeJS.Timeout | undefined)
})

/**
 * For the plugin's background timers (the sweep, grace periods): they must
 * not keep the process alive. Node's handles have unref(); another clock's
 * may not, and then there is nothing to do.
 */
export function unrefTimer (handle: TimerHandle): void {
  (handle as { unref?: () => void }).unref?.()
}

const CLOCK_METHODS = ['now', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] as const

/** The `clock` option's check: an object with the five functions. */
export function isRealtimeClock (value: unknown): value is RealtimeClock {
  return value !== null && typeof value === 'object' &&
    CLOCK_METHODS.every(name => typeof (value as Record<string, unknown>)[name] === 'function')
}
