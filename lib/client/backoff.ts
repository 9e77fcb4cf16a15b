/** How reconnect delays grow. Every value is in milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first delay (attempt 0). */
  initialDelayMs: number
  /** No delay is ever longer than this. */
  maxDelayMs: number
  /** Growth of the ceiling per attempt. */
  multiplier: number
}

/**
 * Ceilings 1 s, 2 s, 4 s, then 5 s (Socket.IO's defaults). A deploy takes the
 * server down for seconds, and a client that has backed off to the cap waits
 * on average half of it after the server is back: a 30 s cap kept a crowd
 * away for up to 30 s after a 15 s restart; 5 s brings it back within 5 s,
 * still spread over those 5 s.
 */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 5000,
  multiplier: 2
})

/**
 * Capped exponential backoff with full jitter: a delay drawn uniformly from
 * [0, min(maxDelayMs, initialDelayMs * multiplier ** attempt)). Full jitter
 * spreads a crowd of clients that lost the same server over the whole window,
 * so a restarted server is not hit by all of them at once.
 *
 * Pure: `random` (a number in [0, 1)) is the only source of chance.
 */
export function backoffDelay (attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, options))
}

/** The upper bound of the delay for an attempt (0-based), capped. */
export function backoffCeiling (attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const n = Math.max(0, Math.floor(attempt))
  // past the cap the power only grows towards Infinity: stop computing it
  const ceiling = options.initialDelayMs * Math.pow(options.multiplier, Math.min(n, 64))
  return Math.min(options.maxDelayMs, Number.isFinite(ceiling) ? ceiling : options.maxDelayMs)
}
