let cachedMs = Number.NaN
let cachedIso = ''

/**
 * `new Date().toISOString()`, built once per millisecond: formatting a date
 * costs more than the rest of a pong's envelope, and a busy server stamps
 * many messages within the same millisecond (the ISO text has millisecond
 * precision, so the reused text is exactly the one a new Date would give).
 */
export function isoNow (): string {
  const now = Date.now()
  if (now !== cachedMs) {
    cachedIso = new Date(now).toISOString()
    cachedMs = now
  }
  return cachedIso
}
