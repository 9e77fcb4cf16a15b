/**
 * Option names kept for 0.1.0 hosts. `timeWindowMs` was the handshake
 * limits' window; every window is `windowMs` now, as in `rateLimit`.
 * The old name is still accepted and warned about once per process.
 */
const DEPRECATED_TIME_WINDOW_MS = 'FST_REALTIME_DEPRECATED_TIME_WINDOW_MS'

const LIMITS_WITH_A_WINDOW = ['failedHandshakeLimit', 'handshakeRateLimit'] as const

let warned = false

/** Rewrites `timeWindowMs` to `windowMs` in `data` (the copied data options), before defaults and validation. */
export function acceptDeprecatedOptions (data: Record<string, unknown>, problems: string[]): void {
  for (const key of LIMITS_WITH_A_WINDOW) {
    const limit = data[key]
    if (limit === null || typeof limit !== 'object' || !('timeWindowMs' in limit)) continue
    const { timeWindowMs, ...rest } = limit as Record<string, unknown>
    if (timeWindowMs === undefined) {
      data[key] = rest
      continue
    }
    if (rest.windowMs !== undefined && rest.windowMs !== timeWindowMs) {
      problems.push(`${key}.timeWindowMs is the deprecated name of ${key}.windowMs: give one of them`)
    }
    data[key] = { windowMs: timeWindowMs, ...rest }
    warnOnce(key)
  }
}

function warnOnce (key: string): void {
  if (warned) return
  warned = true
  process.emitWarning(`fastify-realtime: ${key}.timeWindowMs is deprecated, use ${key}.windowMs (the name rateLimit uses)`, {
    type: 'DeprecationWarning',
    code: DEPRECATED_TIME_WINDOW_MS
  })
}
